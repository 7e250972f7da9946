"""Hosting modes as data: one strategy object per way of hosting the model.

- :class:`InstanceVariant` (the default): the endpoint config's production variant runs the model on its
  instances; autoscaling moves the instance count; updates are blue/green.
- :class:`InferenceComponent` (``scale_to_zero``): the model is an inference component on a variant with managed
  instance scaling from zero; autoscaling moves the copy count and a wake-up policy starts the first copy;
  updates roll one copy at a time.

Each mode owns the endpoint config's shape, what serves the traffic, the scaling target, the metric dimensions,
the update policy, the log groups and which alarms apply. Code elsewhere asks the mode; it never asks which
mode it is (AWS docs, "Scale an endpoint to zero instances" and "Automatic scaling of Amazon SageMaker AI
models").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from aws_cdk import Duration, Resource
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IDependable

from ._lambda import contract
from ._validation import ConfigurationError, is_unresolved, require_int
from .defaults import DEFAULTS
from .endpoint_metrics import SAGEMAKER_NAMESPACE, arn_name
from .regions import check_inference_component_region
from .scaling import ScalingTarget
from .updates import blue_green_update, rolling_update

if TYPE_CHECKING:  # types only
    from aws_cdk import aws_logs as logs

    from .endpoint_metrics import EndpointMetrics

#: Mode keys, as alarm specs name the modes they apply to.
INSTANCE_VARIANT = "instance-variant"
INFERENCE_COMPONENT = "inference-component"
#: Where an inference component's containers log (its name follows). Seen in AWS samples and exported
#: accounts; no guide page states it (see the README's log-group table).
INFERENCE_COMPONENT_LOG_GROUP_PREFIX = "/aws/sagemaker/InferenceComponents/"
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
#: Host memory an inference component reserves per GPU it uses, in MiB. ``MinMemoryRequiredInMb`` is a
#: scheduling reservation, not a cap: the copy is placed only on a host with that much memory left, and TGI may
#: use more. TGI 1.1 maps the safetensors files and copies them to the GPU a tensor at a time
#: (``server/text_generation_server/utils/weights.py`` at v1.1.0), so the host keeps no second copy of the
#: weights; what a shard process holds is Python, PyTorch and its CUDA context. AWS's own sample serves an 8B
#: model on TGI from one ml.g5.2xlarge with 1024 MB (aws-samples/sagemaker-genai-hosting-examples, "Enhance
#: deployment guardrails with inference component rolling deployment"). TGI runs one shard process per GPU
#: (SM_NUM_GPUS), hence per GPU. Half the host (the earlier choice) risked a refusal on hosts where SageMaker
#: keeps more for itself: a 16 GiB host was reported refusing 4096 MB ("not enough hardware resources").
COMPONENT_MEMORY_MB_PER_GPU = 1024


@dataclass(frozen=True)
class LogGroupSpec:
    """A log group SageMaker writes to in a mode: created by the stack so ``cdk destroy`` removes it."""

    id: str
    name: str
    holds: str


@dataclass(frozen=True)
class Fleet:
    """What a mode builds the serving resources from, resolved and checked once by the endpoint."""

    instance_type: str
    initial_instance_count: int
    gpus: int
    startup_seconds: int
    download_seconds: int
    max_capacity: int
    min_capacity: int
    baking_seconds: int
    rollback_alarms: Sequence[cloudwatch.IAlarm]


@dataclass(frozen=True)
class ServingParts:
    """The resources both modes serve from: the model, its role and policy, its network."""

    model: sagemaker.CfnModel
    role: iam.IRole
    policy: iam.ManagedPolicy
    network: sagemaker.CfnEndpointConfig.VpcConfigProperty


class HostingMode(ABC):
    """How the model is hosted on the endpoint named ``endpoint_name``."""

    #: This mode's key, as :class:`~mistral_endpoint.alarms.AlarmSpec` ``modes`` name it.
    key: ClassVar[str]

    def __init__(self, endpoint_name: str, variant_name: str) -> None:
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name

    @staticmethod
    def create(*, scale_to_zero: bool, endpoint_name: str, variant_name: str) -> HostingMode:
        """The mode the ``scale_to_zero`` prop asks for: the one place that reads it."""
        if scale_to_zero:
            # Named after the endpoint: components, endpoints and models have names of their own kinds.
            return InferenceComponent(endpoint_name, variant_name, endpoint_name)
        return InstanceVariant(endpoint_name, variant_name)

    @staticmethod
    def of(endpoint_name: str, variant_name: str, inference_component_name: str | None) -> HostingMode:
        """The mode of an endpoint deployed elsewhere: a component name means the model is a component."""
        if inference_component_name is not None:
            return InferenceComponent(endpoint_name, variant_name, inference_component_name)
        return InstanceVariant(endpoint_name, variant_name)

    #: The inference component serving the model, or None.
    inference_component_name: str | None = None
    #: The high-resolution concurrency metric autoscaling tracks.
    concurrency_metric_name: ClassVar[str]

    def check_region(self, scope: Construct) -> None:  # noqa: B027 - most modes are offered wherever TGI is
        """Refuse a pinned region where this mode is not offered."""

    @abstractmethod
    def capacity_bounds(self, initial: int, min_capacity: int | None, max_capacity: int) -> tuple[int, int]:
        """The fewest and most instances (or copies) autoscaling keeps."""

    @abstractmethod
    def autoscales(self, min_capacity: int, max_capacity: int) -> bool:
        """Whether the endpoint needs an autoscaling target at all."""

    @abstractmethod
    def log_groups(self) -> list[LogGroupSpec]:
        """The log groups SageMaker writes to; the first is the endpoint's."""

    @abstractmethod
    def endpoint_config(
        self, scope: Construct, fleet: Fleet, parts: ServingParts
    ) -> sagemaker.CfnEndpointConfig:
        """The endpoint configuration, shaped for this mode."""

    @abstractmethod
    def serve(
        self,
        scope: Construct,
        fleet: Fleet,
        parts: ServingParts,
        endpoint: sagemaker.CfnEndpoint,
        log_groups: Mapping[str, logs.LogGroup],
    ) -> IDependable:
        """Put the model behind ``endpoint`` with its update policy; returns what autoscaling registers after."""

    @abstractmethod
    def scaling_target(self) -> ScalingTarget:
        """What Application Auto Scaling scales."""

    def dimensions(self, namespace: str) -> dict[str, str]:
        """The dimensions of this endpoint's metrics in ``namespace``."""
        return {"EndpointName": self.endpoint_name, "VariantName": self.variant_name}

    def wake_refusals(self, metrics: EndpointMetrics, **props: Any) -> cloudwatch.Metric | None:
        """Requests refused while the model wakes from zero, or None in a mode that never sleeps."""
        return None

    def require_wake_signal(self) -> None:
        """Refuse a NoCapacityInvocationFailures metric in a mode that never publishes it."""
        raise ConfigurationError(
            "NoCapacityInvocationFailures is published for inference components only: the endpoint needs "
            "scale_to_zero=True"
        )

    def component_arns(self, endpoint: Resource) -> list[str]:
        """The ARNs InvokeEndpoint also authorizes against, besides the endpoint's (in its account and region)."""
        return []

    def proxy_environment(self) -> dict[str, str]:
        """What the invoke proxy must name in every call, as environment variables."""
        return {}

    def stack_outputs(self) -> list[tuple[str, str, str]]:
        """(output id, value, description) an app may show for this mode."""
        return []


class InstanceVariant(HostingMode):
    """The model on the production variant's instances: at least one instance, always on."""

    key = INSTANCE_VARIANT
    concurrency_metric_name = "ConcurrentRequestsPerModel"

    def capacity_bounds(self, initial: int, min_capacity: int | None, max_capacity: int) -> tuple[int, int]:
        require_int("max_capacity", max_capacity, minimum=1)
        floor = DEFAULTS.min_capacity if min_capacity is None else min_capacity
        require_int(
            "min_capacity",
            floor,
            minimum=1,
            hint="An endpoint variant cannot scale below one instance; scale_to_zero=True can.",
        )
        if floor > max_capacity:
            raise ConfigurationError(f"min_capacity ({floor}) must not exceed max_capacity ({max_capacity})")
        if not is_unresolved(initial) and not floor <= initial <= max_capacity:
            raise ConfigurationError(
                f"initial_instance_count ({initial}) must be between min_capacity ({floor}) and max_capacity "
                f"({max_capacity})"
            )
        return floor, max_capacity

    def autoscales(self, min_capacity: int, max_capacity: int) -> bool:
        return max_capacity > min_capacity

    def log_groups(self) -> list[LogGroupSpec]:
        return [_endpoint_log_group(self.endpoint_name)]

    def endpoint_config(
        self, scope: Construct, fleet: Fleet, parts: ServingParts
    ) -> sagemaker.CfnEndpointConfig:
        # No KmsKeyId and no VolumeSizeInGB: g5 instances use local NVMe storage, which the platform
        # encrypts, and CreateEndpointConfig rejects both for them.
        return sagemaker.CfnEndpointConfig(
            scope,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=self.variant_name,
                    model_name=parts.model.attr_model_name,
                    instance_type=fleet.instance_type,
                    initial_instance_count=fleet.initial_instance_count,
                    initial_variant_weight=1,
                    container_startup_health_check_timeout_in_seconds=fleet.startup_seconds,
                    model_data_download_timeout_in_seconds=fleet.download_seconds,
                )
            ],
        )

    def serve(
        self,
        scope: Construct,
        fleet: Fleet,
        parts: ServingParts,
        endpoint: sagemaker.CfnEndpoint,
        log_groups: Mapping[str, logs.LogGroup],
    ) -> IDependable:
        endpoint.deployment_config = blue_green_update(
            fleet.baking_seconds, fleet.rollback_alarms, canary=fleet.min_capacity >= 2
        )
        # Keep the instance count autoscaling reached (not initial_instance_count) through an update, and
        # the weights; anything else follows the new configuration.
        endpoint.retain_all_variant_properties = True
        endpoint.exclude_retained_variant_properties = [
            sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type="DataCaptureConfig")
        ]
        return endpoint

    def scaling_target(self) -> ScalingTarget:
        return ScalingTarget.variant(self.endpoint_name, self.variant_name)


class InferenceComponent(HostingMode):
    """The model as an inference component that scales to zero copies, and its instances with it."""

    key = INFERENCE_COMPONENT
    concurrency_metric_name = "ConcurrentRequestsPerCopy"

    def __init__(self, endpoint_name: str, variant_name: str, component_name: str) -> None:
        super().__init__(endpoint_name, variant_name)
        self.inference_component_name: str = component_name

    def check_region(self, scope: Construct) -> None:
        check_inference_component_region(scope)

    def capacity_bounds(self, initial: int, min_capacity: int | None, max_capacity: int) -> tuple[int, int]:
        require_int("max_capacity", max_capacity, minimum=1)
        if min_capacity not in (None, 0):
            raise ConfigurationError(
                f"scale_to_zero scales the model down to zero copies, got min_capacity={min_capacity}: leave "
                "min_capacity unset, or keep copies warm in a window with schedule"
            )
        return 0, max_capacity

    def autoscales(self, min_capacity: int, max_capacity: int) -> bool:
        return True  # scale-in to zero and the wake from it are autoscaling's

    def log_groups(self) -> list[LogGroupSpec]:
        # Containers of an inference component log to a group named after the component, not the endpoint.
        return [
            _endpoint_log_group(self.endpoint_name),
            LogGroupSpec(
                "ComponentLogs",
                f"{INFERENCE_COMPONENT_LOG_GROUP_PREFIX}{self.inference_component_name}",
                "The inference component's container logs (TGI's startup, health-check and per-request lines)",
            ),
        ]

    def endpoint_config(
        self, scope: Construct, fleet: Fleet, parts: ServingParts
    ) -> sagemaker.CfnEndpointConfig:
        config = sagemaker.CfnEndpointConfig(
            scope,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=self.variant_name,
                    instance_type=fleet.instance_type,
                    initial_instance_count=1,
                    managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                        status="ENABLED", min_instance_count=0, max_instance_count=fleet.max_capacity
                    ),
                    routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                        routing_strategy="LEAST_OUTSTANDING_REQUESTS"
                    ),
                )
            ],
            # An inference-component endpoint takes its role, network and isolation here, not from a model.
            execution_role_arn=parts.role.role_arn,
            enable_network_isolation=True,
            vpc_config=parts.network,
        )
        config.node.add_dependency(parts.policy)
        return config

    def serve(
        self,
        scope: Construct,
        fleet: Fleet,
        parts: ServingParts,
        endpoint: sagemaker.CfnEndpoint,
        log_groups: Mapping[str, logs.LogGroup],
    ) -> IDependable:
        requirements = sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
            number_of_accelerator_devices_required=fleet.gpus,
            min_memory_required_in_mb=COMPONENT_MEMORY_MB_PER_GPU * fleet.gpus,
        )
        startup = sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
            container_startup_health_check_timeout_in_seconds=fleet.startup_seconds,
            model_data_download_timeout_in_seconds=fleet.download_seconds,
        )
        component = sagemaker.CfnInferenceComponent(
            scope,
            "InferenceComponent",
            inference_component_name=self.inference_component_name,
            endpoint_name=endpoint.attr_endpoint_name,
            variant_name=self.variant_name,
            specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                model_name=parts.model.attr_model_name,
                compute_resource_requirements=requirements,
                startup_parameters=startup,
            ),
            # One copy at creation, though CopyCount 0 is valid (botocore's InferenceComponentCopyCount:
            # min 0): CloudFormation then waits for a copy to pass its health check, so a deploy proves the
            # model loads instead of leaving that to the first request. Autoscaling removes it once idle.
            runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=1
            ),
            deployment_config=rolling_update(fleet.baking_seconds, fleet.rollback_alarms),
        )
        # The component's copies log to its own group from their first start: create it before, delete
        # it after, so SageMaker never creates one the stack does not own.
        component.node.add_dependency(log_groups["ComponentLogs"])
        return component

    def scaling_target(self) -> ScalingTarget:
        return ScalingTarget.inference_component(self.inference_component_name)

    def dimensions(self, namespace: str) -> dict[str, str]:
        if namespace == SAGEMAKER_NAMESPACE:
            return {"InferenceComponentName": self.inference_component_name}
        return super().dimensions(namespace)  # instance metrics stay per variant

    def wake_refusals(self, metrics: EndpointMetrics, **props: Any) -> cloudwatch.Metric | None:
        return metrics.metric(
            "NoCapacityInvocationFailures", **{"statistic": "Sum", "period": Duration.minutes(1), **props}
        )

    def require_wake_signal(self) -> None:
        return None

    def component_arns(self, endpoint: Resource) -> list[str]:
        stack, env = endpoint.stack, endpoint.env
        same_environment = env.account == stack.account and env.region == stack.region
        return [
            stack.format_arn(
                service="sagemaker",
                resource="inference-component",
                resource_name=arn_name(self.inference_component_name),
                account=None if same_environment else env.account,
                region=None if same_environment else env.region,
            )
        ]

    def proxy_environment(self) -> dict[str, str]:
        return {contract.ENV_INFERENCE_COMPONENT_NAME: self.inference_component_name}

    def stack_outputs(self) -> list[tuple[str, str, str]]:
        return [
            (
                "InferenceComponentName",
                self.inference_component_name,
                "Inference component serving the model (scales to zero when idle)",
            )
        ]


def _endpoint_log_group(endpoint_name: str) -> LogGroupSpec:
    return LogGroupSpec(
        "Logs",
        f"{ENDPOINT_LOG_GROUP_PREFIX}{endpoint_name}",
        "The endpoint's container logs (TGI's startup, health-check and per-request lines)",
    )
