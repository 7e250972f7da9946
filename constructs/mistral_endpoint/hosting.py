"""Model hosting: the TGI 1.1 container, its execution role, and the SageMaker real-time endpoint."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import jsii
from aws_cdk import Aws, CfnMapping, Duration, Names, RemovalPolicy, Resource, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces.aws_sagemaker import EndpointReference
from constructs import Construct

from . import _tgi_images
from ._compliance import acknowledge, acknowledge_in_packs, nag_resource
from ._logs import new_log_group
from ._validation import ConfigurationError, is_unresolved, require_bool, require_int, require_seconds
from .defaults import DEFAULTS
from .model import MISTRAL_7B_MAX_TOTAL_TOKENS, MistralModel
from .network import ISOLATED_SUBNETS, select_subnets
from .regions import check_inference_component_region, check_tgi_region
from .scaling import EndpointScaling, ScalingSchedule, ScalingTarget, check_capacity, target_concurrency
from .updates import blue_green_update, rolling_update

if TYPE_CHECKING:  # types only: importing the module costs synth time
    from aws_cdk import aws_kms as kms

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
#: GPUs per instance type: TGI shards the model over SM_NUM_GPUS of them. ml.g5.xlarge (16 GiB of host
#: memory) cannot load 14 GB of fp16 weights; every larger g5 can.
GPUS_BY_INSTANCE_TYPE: Mapping[str, int] = {
    "ml.g5.2xlarge": 1,
    "ml.g5.4xlarge": 1,
    "ml.g5.8xlarge": 1,
    "ml.g5.16xlarge": 1,
    "ml.g5.12xlarge": 4,
    "ml.g5.24xlarge": 4,
    "ml.g5.48xlarge": 8,
}
VARIANT_NAME = "AllTraffic"

# The environment JumpStart sets for these model versions on TGI 1.1 (CloudFormation wants every value a string).
_JUMPSTART_ENVIRONMENT = {
    "HF_MODEL_ID": "/opt/ml/model",
    "MODEL_CACHE_ROOT": "/opt/ml/model",
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
    "ENDPOINT_SERVER_TIMEOUT": "3600",
    "SAGEMAKER_ENV": "1",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
}
# Environment keys owned by props: setting them through container_environment would silently fight them.
_PROP_FOR_KEY = {
    "SM_NUM_GPUS": "instance_type",
    "MAX_INPUT_LENGTH": "max_input_length",
    "MAX_TOTAL_TOKENS": "max_total_tokens",
    "MAX_BATCH_PREFILL_TOKENS": "max_batch_prefill_tokens",
    "MAX_CONCURRENT_REQUESTS": "max_concurrent_requests",
    "HF_MODEL_ID": "model",
}
_ENV_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INVOKE_ENDPOINT_ACTIONS = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
INSTANCE_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
#: Where an inference component's containers log (its name follows).
INFERENCE_COMPONENT_LOG_GROUP_PREFIX = "/aws/sagemaker/InferenceComponents/"


class IMistralModelEndpoint(sagemaker.IEndpoint, Protocol):
    """A SageMaker endpoint that serves Mistral 7B on TGI, created by this library or imported.

    An ``aws_sagemaker.IEndpoint`` (so CDK APIs that take an endpoint take this one), plus what an
    :class:`~mistral_endpoint.InvokeProxy` needs to validate requests before they reach the model.
    """

    @property
    def model(self) -> MistralModel:
        """The weights it serves (decides whether the proxy offers the chat routes)."""
        ...

    @property
    def max_input_length(self) -> int:
        """TGI's MAX_INPUT_LENGTH on this endpoint."""
        ...

    @property
    def max_total_tokens(self) -> int:
        """TGI's MAX_TOTAL_TOKENS on this endpoint."""
        ...

    @property
    def variant_name(self) -> str:
        """The production variant its metrics are reported for."""
        ...

    @property
    def inference_component_name(self) -> str | None:
        """The inference component that serves the model (scale-to-zero mode), or None."""
        ...

    @property
    def invoke_resource_arns(self) -> list[str]:
        """The ARNs InvokeEndpoint authorizes against: the endpoint, and its inference component if any."""
        ...

    def grant_invoke_endpoint(self, grantee: iam.IGrantable) -> iam.Grant:
        """Alias of ``grant_invoke``."""
        ...

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A CloudWatch metric of this endpoint's variant."""
        ...


class EndpointMetrics:
    """``grant_invoke`` and the ``metric_*`` methods, for anything with an endpoint name, ARN and variant."""

    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    inference_component_name: str | None

    @property
    def invoke_resource_arns(self) -> list[str]:
        """What InvokeEndpoint authorizes against: the endpoint, and the inference component when the call
        names one (the service authorization reference lists both resource types for the action)."""
        arns = [self.endpoint_arn]
        if self.inference_component_name is not None:
            arns.append(
                Stack.of(cast(Construct, self)).format_arn(
                    service="sagemaker",
                    resource="inference-component",
                    resource_name=_arn_name(self.inference_component_name),
                )
            )
        return arns

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke this endpoint, buffered and streaming (``sagemaker:InvokeEndpoint`` and
        ``sagemaker:InvokeEndpointWithResponseStream``), on this endpoint (and its inference component) only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=INVOKE_ENDPOINT_ACTIONS,
            resource_arns=self.invoke_resource_arns,
        )

    def grant_invoke_endpoint(self, grantee: iam.IGrantable) -> iam.Grant:
        """Alias of :meth:`grant_invoke`, kept for code written against earlier releases."""
        return self.grant_invoke(grantee)

    def metric(
        self, metric_name: str, *, namespace: str = SAGEMAKER_NAMESPACE, **props: Any
    ) -> cloudwatch.Metric:
        """A CloudWatch metric of this endpoint.

        Invocation metrics (``AWS/SageMaker``) are per variant (dimensions EndpointName and VariantName), or per
        inference component (InferenceComponentName) in scale-to-zero mode; instance metrics
        (``/aws/sagemaker/Endpoints``) are per variant in both modes.

        :param metric_name: the metric's name, as SageMaker publishes it.
        :param namespace: ``AWS/SageMaker`` (invocation metrics, the default) or ``/aws/sagemaker/Endpoints``
            (instance metrics).
        :param props: any ``cloudwatch.MetricOptions`` field (``statistic``, ``period``, ``label``, ...).
        """
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map=self._dimensions(namespace),
            **props,
        )

    def _dimensions(self, namespace: str) -> dict[str, str]:
        if namespace == SAGEMAKER_NAMESPACE and self.inference_component_name is not None:
            return {"InferenceComponentName": self.inference_component_name}
        return {"EndpointName": self.endpoint_name, "VariantName": self.variant_name}

    def metric_model_latency(self, **props: Any) -> cloudwatch.Metric:
        """ModelLatency (microseconds): time the container took to answer. Default: average over 5 minutes."""
        return self.metric("ModelLatency", **props)

    def metric_overhead_latency(self, **props: Any) -> cloudwatch.Metric:
        """OverheadLatency (microseconds): time SageMaker added around the container. Default: average over
        5 minutes."""
        return self.metric("OverheadLatency", **props)

    def metric_invocations(self, **props: Any) -> cloudwatch.Metric:
        """Invocations: requests sent to the endpoint. Default: sum over 5 minutes."""
        return self.metric("Invocations", **{"statistic": "Sum", **props})

    def metric_invocations_per_instance(self, **props: Any) -> cloudwatch.Metric:
        """InvocationsPerInstance: requests per instance of the variant. Default: sum over 5 minutes."""
        return self.metric("InvocationsPerInstance", **{"statistic": "Sum", **props})

    def metric_invocation4xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Invocation4XXErrors: requests the model answered with a 4xx. Default: sum over 5 minutes."""
        return self.metric("Invocation4XXErrors", **{"statistic": "Sum", **props})

    def metric_invocation5xx_errors(self, **props: Any) -> cloudwatch.Metric:
        """Invocation5XXErrors: requests the model answered with a 5xx. Default: sum over 5 minutes."""
        return self.metric("Invocation5XXErrors", **{"statistic": "Sum", **props})

    def metric_gpu_utilization(self, **props: Any) -> cloudwatch.Metric:
        """GPUUtilization (percent, summed over the instance's GPUs). Default: average over 5 minutes."""
        return self.metric("GPUUtilization", namespace=INSTANCE_METRICS_NAMESPACE, **props)

    def metric_gpu_memory_utilization(self, **props: Any) -> cloudwatch.Metric:
        """GPUMemoryUtilization (percent, summed over the instance's GPUs). Default: average over 5 minutes."""
        return self.metric("GPUMemoryUtilization", namespace=INSTANCE_METRICS_NAMESPACE, **props)

    def metric_concurrent_requests(self, **props: Any) -> cloudwatch.Metric:
        """Concurrent requests per instance (per copy in scale-to-zero mode), the high-resolution metric
        autoscaling tracks. Default: maximum over 1 minute."""
        name = (
            "ConcurrentRequestsPerCopy"
            if self.inference_component_name is not None
            else "ConcurrentRequestsPerModel"
        )
        return self.metric(name, **{"statistic": "Maximum", "period": Duration.minutes(1), **props})

    def metric_no_capacity_invocation_failures(self, **props: Any) -> cloudwatch.Metric:
        """NoCapacityInvocationFailures: requests refused because the inference component had no copy
        (scale-to-zero mode only). Default: sum over 1 minute."""
        if self.inference_component_name is None:
            raise ConfigurationError(
                "NoCapacityInvocationFailures is published for inference components only: the endpoint needs "
                "scale_to_zero=True"
            )
        return self.metric(
            "NoCapacityInvocationFailures", **{"statistic": "Sum", "period": Duration.minutes(1), **props}
        )


def endpoint_arn(scope: Construct, endpoint_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="sagemaker", resource="endpoint", resource_name=_arn_name(endpoint_name)
    )


def _arn_name(name: str) -> str:
    # SageMaker lower-cases names inside ARNs, and IAM compares ARNs case-sensitively.
    return name if is_unresolved(name) else name.lower()


@jsii.implements(sagemaker.IEndpoint)
class _ModelEndpointBase(EndpointMetrics, Resource):
    """What created and imported endpoints share: the IEndpoint attributes, grants and metrics.

    The mixin comes first: jsii only sees Python overrides (``grant_invoke``, called from CDK's own code)
    in the classes before the first jsii class of the MRO.
    """

    def _init_attributes(
        self,
        *,
        endpoint_name: str,
        model: MistralModel | None,
        max_input_length: int,
        max_total_tokens: int,
        variant_name: str,
        inference_component_name: str | None = None,
    ) -> None:
        self._endpoint_name = endpoint_name
        self._inference_component_name = inference_component_name
        self._endpoint_arn = endpoint_arn(self, endpoint_name)
        self._model = MistralModel.of(model)
        self._max_input_length = max_input_length
        self._max_total_tokens = max_total_tokens
        self._variant_name = variant_name

    @property
    def endpoint_name(self) -> str:  # type: ignore[override]
        """The endpoint's name."""
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:  # type: ignore[override]
        """The endpoint's ARN (its name lower-cased, as SageMaker writes it)."""
        return self._endpoint_arn

    @property
    def endpoint_ref(self) -> EndpointReference:
        return EndpointReference(endpoint_arn=self._endpoint_arn)

    @property
    def model(self) -> MistralModel:
        """The weights this endpoint serves."""
        return self._model

    @property
    def max_input_length(self) -> int:
        """TGI's MAX_INPUT_LENGTH on this endpoint."""
        return self._max_input_length

    @property
    def max_total_tokens(self) -> int:
        """TGI's MAX_TOTAL_TOKENS on this endpoint."""
        return self._max_total_tokens

    @property
    def variant_name(self) -> str:  # type: ignore[override]
        """The production variant the metrics are reported for."""
        return self._variant_name

    @property
    def inference_component_name(self) -> str | None:  # type: ignore[override]
        """The inference component serving the model (scale-to-zero mode), or None."""
        return self._inference_component_name


class _ImportedModelEndpoint(_ModelEndpointBase):
    def __init__(self, scope: Construct, id: str, **attributes: Any) -> None:
        super().__init__(scope, id)
        self._init_attributes(**attributes)


@jsii.implements(ec2.IConnectable)
class MistralModelEndpoint(_ModelEndpointBase):
    """Mistral 7B on the Hugging Face TGI 1.1 container, on a network-isolated SageMaker real-time endpoint.

    Creates the model (network isolation on, in your subnets), its endpoint configuration and endpoint,
    the endpoint's log group (so ``cdk destroy`` removes it), a security group, and an execution role whose
    policy allows exactly: pulling the TGI image, reading the weights, writing the endpoint's logs and
    metrics, and managing the ENIs SageMaker places in your subnets.

    Implements ``aws_sagemaker.IEndpoint`` and :class:`IMistralModelEndpoint`; use
    :meth:`from_endpoint_attributes` for an endpoint deployed elsewhere.
    """

    @staticmethod
    def from_endpoint_attributes(
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        model: MistralModel | None = None,
        max_input_length: int | None = None,
        max_total_tokens: int = DEFAULTS.max_total_tokens,
        variant_name: str = VARIANT_NAME,
        inference_component_name: str | None = None,
    ) -> IMistralModelEndpoint:
        """An endpoint deployed elsewhere (same account and region as the stack), for a proxy of its own.

        :param endpoint_name: the SageMaker endpoint's name.
        :param model: what it serves (decides whether the proxy offers chat). Default: Mistral 7B Instruct.
        :param max_input_length: the endpoint's MAX_INPUT_LENGTH. Default: ``max_total_tokens`` - 1 (8191).
        :param max_total_tokens: the endpoint's MAX_TOTAL_TOKENS. Default: 8192.
        :param variant_name: the production variant its metrics are reported for. Default: AllTraffic.
        :param inference_component_name: the inference component serving the model, for an endpoint that hosts
            it as one (the proxy then names it in every call). Default: none.
        """
        if not is_unresolved(endpoint_name) and not _ENDPOINT_NAME.match(endpoint_name):
            raise ConfigurationError(_endpoint_name_error(endpoint_name))
        max_input, max_total, _ = _check_token_limits(max_input_length, max_total_tokens, None)
        return _ImportedModelEndpoint(
            scope,
            id,
            endpoint_name=endpoint_name,
            model=model,
            max_input_length=max_input,
            max_total_tokens=max_total,
            variant_name=variant_name,
            inference_component_name=inference_component_name,
        )

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        model: MistralModel | None = None,
        instance_type: str = DEFAULTS.instance_type,
        initial_instance_count: int = DEFAULTS.initial_instance_count,
        max_input_length: int | None = None,
        max_total_tokens: int = DEFAULTS.max_total_tokens,
        max_batch_prefill_tokens: int | None = None,
        max_concurrent_requests: int | None = None,
        container_environment: Mapping[str, str] | None = None,
        startup_health_check_timeout: Duration | None = None,
        model_data_download_timeout: Duration | None = None,
        role: iam.IRole | None = None,
        endpoint_name: str | None = None,
        min_capacity: int | None = None,
        max_capacity: int = DEFAULTS.max_capacity,
        target_concurrent_requests: int | None = None,
        scale_out_cooldown: Duration | None = None,
        scale_in_cooldown: Duration | None = None,
        scale_to_zero: bool = DEFAULTS.scale_to_zero,
        schedule: ScalingSchedule | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        deployment_baking_time: Duration | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """
        :param vpc: the VPC whose subnets the model's ENIs go in.
        :param vpc_subnets: which subnets (two or more AZs). Default: the VPC's isolated subnets.
        :param model: the weights. Default: ``MistralModel.instruct()``, Mistral 7B Instruct from JumpStart.
        :param instance_type: a g5 instance type from ml.g5.2xlarge up. Default: ml.g5.2xlarge (1x A10G 24 GB).
        :param initial_instance_count: instances behind the endpoint. Default: 1.
        :param max_input_length: TGI MAX_INPUT_LENGTH, the longest prompt in tokens. Default: ``max_total_tokens``
            - 1 (8191), the most TGI admits.
        :param max_total_tokens: TGI MAX_TOTAL_TOKENS, prompt plus generated tokens. Default: 8192 (the model's).
        :param max_batch_prefill_tokens: TGI MAX_BATCH_PREFILL_TOKENS. Default: max_input_length.
        :param max_concurrent_requests: TGI MAX_CONCURRENT_REQUESTS. Default: unset (TGI's 128).
        :param container_environment: extra container environment (strings). Default: none.
        :param startup_health_check_timeout: how long the container may take to pass its first health check
            (60 s to 1 h). Default: 15 minutes.
        :param model_data_download_timeout: how long the weights may take to download (60 s to 1 h).
            Default: 15 minutes.
        :param role: your execution role; this construct's policy is attached to it. Default: a new role.
        :param endpoint_name: the endpoint's name. Default: derived from the construct path, lower case.
        :param min_capacity: fewest instances autoscaling keeps. Default: 1 (0 with ``scale_to_zero``, which
            only accepts 0).
        :param max_capacity: most instances (copies with ``scale_to_zero``) autoscaling adds. Equal to
            ``min_capacity`` (without ``scale_to_zero``): no autoscaling. Default: 2.
        :param target_concurrent_requests: concurrent requests per instance (or copy) target tracking holds.
            Default: 32, or half of ``max_concurrent_requests`` when that is lower.
        :param scale_out_cooldown: wait after a scale-out. Default: 5 minutes.
        :param scale_in_cooldown: wait after a scale-in. Default: 15 minutes.
        :param scale_to_zero: host the model as an inference component that scales to zero copies (and, through
            managed instance scaling, zero instances) when idle, and back out on the first request. Default: false.
        :param schedule: keep capacity warm in a weekly window (e.g. ``ScalingSchedule.business_hours(...)``).
            Default: none.
        :param rollback_alarms: alarms that roll an update back while it bakes (blue/green, or the inference
            component's rolling update). Default: none (an update still rolls back if the new fleet fails to
            become healthy).
        :param deployment_baking_time: how long an update watches the new fleet (or copy) before it finishes
            (0 s to 1 h). Default: 10 minutes.
        :param log_retention: retention of the endpoint's log group. Default: one year.
        :param log_encryption_key: KMS key for the endpoint's log group. Default: CloudWatch Logs' encryption.
        :param removal_policy: what happens to the endpoint's log group on deletion. Default: destroy.
        """
        super().__init__(scope, id)
        require_bool("scale_to_zero", scale_to_zero)
        check_tgi_region(self)
        if scale_to_zero:
            check_inference_component_region(self)
        gpus = _gpus_for(instance_type)
        require_int("initial_instance_count", initial_instance_count, minimum=1, allow_token=True)
        max_input, max_total, prefill = _check_token_limits(
            max_input_length, max_total_tokens, max_batch_prefill_tokens
        )
        name = _endpoint_name(self, endpoint_name)
        min_capacity, max_capacity = check_capacity(
            initial_instance_count, min_capacity, max_capacity, scale_to_zero=scale_to_zero
        )
        target = target_concurrency(target_concurrent_requests, max_concurrent_requests)
        baking = require_seconds(
            "deployment_baking_time",
            deployment_baking_time or Duration.seconds(DEFAULTS.deployment_baking_seconds),
            minimum=0,
            maximum=3600,
        )
        self._init_attributes(
            endpoint_name=name,
            model=model,
            max_input_length=max_input,
            max_total_tokens=max_total,
            variant_name=VARIANT_NAME,
            # Named after the endpoint: components, endpoints and models have names of their own kinds.
            inference_component_name=name if scale_to_zero else None,
        )
        #: Fewest and most instances (copies in scale-to-zero mode) autoscaling keeps.
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        environment = {
            **_JUMPSTART_ENVIRONMENT,
            "SM_NUM_GPUS": str(gpus),
            "MAX_INPUT_LENGTH": str(max_input),
            "MAX_TOTAL_TOKENS": str(max_total),
            "MAX_BATCH_PREFILL_TOKENS": str(prefill),
        }
        if max_concurrent_requests is not None:
            require_int("max_concurrent_requests", max_concurrent_requests, minimum=1)
            environment["MAX_CONCURRENT_REQUESTS"] = str(max_concurrent_requests)
        environment.update(_check_extra_environment(container_environment or {}))
        timeout_hint = "7B weights are 14 GB: allow several minutes"
        startup = require_seconds(
            "startup_health_check_timeout",
            startup_health_check_timeout or Duration.seconds(DEFAULTS.startup_health_check_timeout_seconds),
            minimum=60,
            maximum=3600,
            hint=timeout_hint,
        )
        download = require_seconds(
            "model_data_download_timeout",
            model_data_download_timeout or Duration.seconds(DEFAULTS.model_data_download_timeout_seconds),
            minimum=60,
            maximum=3600,
            hint=timeout_hint,
        )

        subnets = select_subnets(vpc, vpc_subnets or ISOLATED_SUBNETS)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Mistral model ENIs: no inbound; HTTPS out, which isolated subnets limit to VPC endpoints",
            allow_all_outbound=False,
        )
        # The weights download through these ENIs to the S3 gateway endpoint, whose prefix list has no
        # CloudFormation attribute; isolated subnets have no other route out.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the S3 gateway")
        self._connections = ec2.Connections(security_groups=[self.security_group])

        def log_group(id: str, name: str, holds: str) -> logs.LogGroup:
            return new_log_group(
                self,
                id,
                log_group_name=name,
                holds=holds,
                retention=log_retention,
                encryption_key=log_encryption_key,
                removal_policy=removal_policy,
            )

        #: The endpoint's log group (``/aws/sagemaker/Endpoints/<endpoint>``).
        self.log_group = log_group(
            "Logs",
            f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
            "The endpoint's container logs (TGI's startup, health-check and per-request lines)",
        )
        #: Scale-to-zero mode: the inference component's log group, where TGI's own lines go
        #: (``/aws/sagemaker/InferenceComponents/<component>``); None otherwise.
        self.component_log_group: logs.LogGroup | None = None
        if self.inference_component_name is not None:
            # Containers of an inference component log to a group named after the component, not the endpoint
            # (see INFERENCE_COMPONENT_LOG_GROUP_PREFIX for the source).
            self.component_log_group = log_group(
                "ComponentLogs",
                f"{INFERENCE_COMPONENT_LOG_GROUP_PREFIX}{self.inference_component_name}",
                "The inference component's container logs (TGI's startup, health-check and per-request lines)",
            )

        image_account = CfnMapping(
            self,
            "TgiImageAccounts",
            mapping={
                region: {"account": account} for region, account in _tgi_images.ECR_ACCOUNT_BY_REGION.items()
            },
        ).find_in_map(Aws.REGION, "account")
        self.image_uri = f"{image_account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{_tgi_images.REPOSITORY}:{_tgi_images.TAG}"

        #: The execution role SageMaker assumes for the model.
        self.role: iam.IRole = role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Mistral 7B TGI model: pull the image, read the weights, write logs",
        )
        # A customer-managed policy, not an inline one: the HIPAA and NIST packs require it.
        self.policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            description="Mistral 7B TGI model: exactly what SageMaker needs to run this endpoint",
            statements=self._execution_statements(vpc, subnets.subnet_ids, image_account, rollback_alarms),
            roles=[self.role],
        )
        acknowledge(self.policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", _WILDCARD_REASON)
        for subnet in _subnet_arns(self, subnets.subnet_ids):
            acknowledge(
                self.policy,
                f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_resource(self, subnet)}]",
                "One subnet of the model's, by id, in any account: a VPC shared through AWS RAM belongs to "
                "its owner's account, and subnet ids are unique",
            )
        acknowledge(
            self.policy,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_resource(self, self.model.objects_arn)}]",
            "Read-only GetObject on the objects under the model weights' prefix, and nothing else",
        )
        acknowledge(
            self.policy,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_resource(self, eni_arn(self))}]",
            "SageMaker creates the model's ENIs at deploy time, so they have no ARN yet; the Delete and "
            "Permission actions are limited to ENIs in this VPC by the ec2:Vpc condition",
        )

        self.cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            enable_network_isolation=True,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image_uri,
                mode="SingleModel",
                model_data_source=sagemaker.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                        s3_uri=self.model.s3_uri, s3_data_type="S3Prefix", compression_type="None"
                    )
                ),
                environment=environment,
            ),
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=subnets.subnet_ids, security_group_ids=[self.security_group.security_group_id]
            ),
        )
        # CreateModel checks the role's permissions at once: the policy must exist first.
        self.cfn_model.node.add_dependency(self.policy)

        # No KmsKeyId and no VolumeSizeInGB: g5 instances use local NVMe storage, which the platform
        # encrypts, and CreateEndpointConfig rejects both for them.
        network = sagemaker.CfnEndpointConfig.VpcConfigProperty(
            subnets=subnets.subnet_ids, security_group_ids=[self.security_group.security_group_id]
        )
        #: The inference component (scale-to-zero mode), or None.
        self.cfn_inference_component: sagemaker.CfnInferenceComponent | None = None
        if scale_to_zero:
            self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
                self,
                "EndpointConfig",
                production_variants=[
                    sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                        variant_name=VARIANT_NAME,
                        instance_type=instance_type,
                        initial_instance_count=1,
                        managed_instance_scaling=sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
                            status="ENABLED", min_instance_count=0, max_instance_count=max_capacity
                        ),
                        routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                            routing_strategy="LEAST_OUTSTANDING_REQUESTS"
                        ),
                    )
                ],
                # An inference-component endpoint takes its role, network and isolation here, not from a model.
                execution_role_arn=self.role.role_arn,
                enable_network_isolation=True,
                vpc_config=network,
            )
            self.cfn_endpoint_config.node.add_dependency(self.policy)
        else:
            self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
                self,
                "EndpointConfig",
                production_variants=[
                    sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                        variant_name=VARIANT_NAME,
                        model_name=self.cfn_model.attr_model_name,
                        instance_type=instance_type,
                        initial_instance_count=initial_instance_count,
                        initial_variant_weight=1,
                        container_startup_health_check_timeout_in_seconds=startup,
                        model_data_download_timeout_in_seconds=download,
                    )
                ],
            )
        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
        )
        if scale_to_zero:
            self.cfn_inference_component = sagemaker.CfnInferenceComponent(
                self,
                "InferenceComponent",
                inference_component_name=self.inference_component_name,
                endpoint_name=self.cfn_endpoint.attr_endpoint_name,
                variant_name=VARIANT_NAME,
                specification=sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                    model_name=self.cfn_model.attr_model_name,
                    compute_resource_requirements=sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                        number_of_accelerator_devices_required=gpus,
                        min_memory_required_in_mb=component_memory_mb(instance_type),
                    ),
                    startup_parameters=sagemaker.CfnInferenceComponent.InferenceComponentStartupParametersProperty(
                        container_startup_health_check_timeout_in_seconds=startup,
                        model_data_download_timeout_in_seconds=download,
                    ),
                ),
                # One copy at creation, though CopyCount 0 is valid (botocore's InferenceComponentCopyCount:
                # min 0): CloudFormation then waits for a copy to pass its health check, so a deploy proves the
                # model loads instead of leaving that to the first request. Autoscaling removes it once idle.
                runtime_config=sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                    copy_count=1
                ),
                deployment_config=rolling_update(baking, rollback_alarms),
            )
            # The component's copies log to its own group from their first start: create it before, delete
            # it after, so SageMaker never creates one the stack does not own.
            self.cfn_inference_component.node.add_dependency(cast(logs.LogGroup, self.component_log_group))
        else:
            self.cfn_endpoint.deployment_config = blue_green_update(
                baking, rollback_alarms, canary=min_capacity >= 2
            )
            # Keep the instance count autoscaling reached (not initial_instance_count) through an update, and
            # the weights; anything else follows the new configuration.
            self.cfn_endpoint.retain_all_variant_properties = True
            self.cfn_endpoint.exclude_retained_variant_properties = [
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type="DataCaptureConfig")
            ]
        acknowledge_in_packs(
            self.cfn_endpoint_config,
            "SageMakerEndpointConfigurationKMSKeyConfigured",
            f"{instance_type} stores the model on local NVMe instance storage, which the platform encrypts; "
            "CreateEndpointConfig rejects KmsKeyId for instance types without an EBS volume",
        )
        # Created before and deleted after the endpoint, so SageMaker never creates its own copy (the role
        # may still call CreateLogGroup on this one name, as SageMaker's documented execution role does).
        self.cfn_endpoint.node.add_dependency(self.log_group)

        #: Autoscaling (None when min_capacity equals max_capacity outside scale-to-zero mode).
        self.scaling: EndpointScaling | None = None
        if scale_to_zero or max_capacity > min_capacity:
            scaled = self.cfn_inference_component or self.cfn_endpoint
            self.scaling = EndpointScaling(
                self,
                "Scaling",
                target=(
                    ScalingTarget.inference_component(self.inference_component_name)
                    if self.inference_component_name is not None
                    else ScalingTarget.variant(self.endpoint_name, VARIANT_NAME)
                ),
                min_capacity=min_capacity,
                max_capacity=max_capacity,
                target_concurrent_requests=target,
                scale_out_cooldown=scale_out_cooldown
                or Duration.seconds(DEFAULTS.scale_out_cooldown_seconds),
                scale_in_cooldown=scale_in_cooldown or Duration.seconds(DEFAULTS.scale_in_cooldown_seconds),
                # Scale-to-zero mode: the wake-up signal (AWS's recipe reads its maximum over a minute).
                no_capacity_metric=self.metric_no_capacity_invocation_failures(statistic="Maximum")
                if self.inference_component_name is not None
                else None,
                schedule=schedule,
                depends_on=scaled,
            )
        elif schedule is not None:
            raise ConfigurationError(
                f"schedule needs autoscaling, which is off when min_capacity equals max_capacity ({max_capacity}): "
                "raise max_capacity, or use scale_to_zero"
            )

    @property
    def connections(self) -> ec2.Connections:
        """Network access of the model's ENIs (no inbound rules; HTTPS out to the S3 gateway endpoint)."""
        return self._connections

    def _execution_statements(
        self,
        vpc: ec2.IVpc,
        subnet_ids: list[str],
        image_account: str,
        rollback_alarms: Sequence[cloudwatch.IAlarm],
    ) -> list[iam.PolicyStatement]:
        stack = Stack.of(self)
        repository_arn = stack.format_arn(
            service="ecr",
            account=image_account,
            resource="repository",
            resource_name=_tgi_images.REPOSITORY,
        )
        enis = eni_arn(self)
        return [
            iam.PolicyStatement(
                sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="PullTgiImage",
                actions=[
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                resources=[repository_arn],
            ),
            *self.model.read_statements(),
            *self.model.decrypt_statements(),
            iam.PolicyStatement(
                sid="WriteEndpointLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[
                    self.log_group.log_group_arn,
                    *([self.component_log_group.log_group_arn] if self.component_log_group else []),
                ],
            ),
            *_watch_rollback_alarms(rollback_alarms),
            iam.PolicyStatement(
                sid="PublishEndpointMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}},
            ),
            iam.PolicyStatement(
                sid="DescribeNetwork",
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="CreateModelEnis",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    enis,
                    stack.format_arn(
                        service="ec2",
                        resource="security-group",
                        resource_name=self.security_group.security_group_id,
                    ),
                    *_subnet_arns(self, subnet_ids),
                ],
            ),
            iam.PolicyStatement(
                sid="ManageModelEnis",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                resources=[enis],
                conditions={
                    "ArnLike": {
                        "ec2:Vpc": stack.format_arn(
                            service="ec2", resource="vpc", resource_name=vpc.vpc_id, account="*"
                        )
                    }
                },
            ),
        ]


def _watch_rollback_alarms(alarms: Sequence[cloudwatch.IAlarm]) -> list[iam.PolicyStatement]:
    """An update with auto-rollback reads its alarms with the role SageMaker uses for the endpoint: the
    model's execution role, or the endpoint config's ExecutionRoleArn for inference components (SageMaker
    guide, "Auto-Rollback Configuration and Monitoring": the execution role needs cloudwatch:DescribeAlarms
    on the alarms it names). DescribeAlarms takes alarm ARNs as resources (Service Authorization
    Reference, Amazon CloudWatch)."""
    if not alarms:
        return []
    return [
        iam.PolicyStatement(
            sid="ReadRollbackAlarms",
            actions=["cloudwatch:DescribeAlarms"],
            resources=[alarm.alarm_arn for alarm in alarms],
        )
    ]


_WILDCARD_REASON = (
    "Resource * only for actions that support no resource-level permissions: ecr:GetAuthorizationToken, "
    "the ec2:Describe* calls SageMaker makes to place ENIs, and cloudwatch:PutMetricData (limited by a "
    "namespace condition to /aws/sagemaker/*)"
)


def _subnet_arns(scope: Construct, subnet_ids: Sequence[str]) -> list[str]:
    # Any account: the subnets of a VPC shared through AWS RAM belong to its owner, not to this stack's account
    # (VPC user guide, "Share your VPC with other accounts"); subnet ids are unique, so the id pins the subnet.
    return [
        Stack.of(scope).format_arn(service="ec2", resource="subnet", resource_name=s, account="*")
        for s in subnet_ids
    ]


def eni_arn(scope: Construct) -> str:
    return Stack.of(scope).format_arn(service="ec2", resource="network-interface", resource_name="*")


def _gpus_for(instance_type: str) -> int:
    if is_unresolved(instance_type):
        raise ConfigurationError(
            "instance_type must be known at synth time (it sets SM_NUM_GPUS), got a token: pass a literal such as "
            "'ml.g5.2xlarge'"
        )
    if instance_type not in GPUS_BY_INSTANCE_TYPE:
        raise ConfigurationError(
            f"instance_type {instance_type!r} cannot serve Mistral 7B on TGI 1.1: use one of "
            f"{', '.join(GPUS_BY_INSTANCE_TYPE)}"
        )
    return GPUS_BY_INSTANCE_TYPE[instance_type]


def _check_token_limits(
    max_input: int | None, max_total: int, max_prefill: int | None
) -> tuple[int, int, int]:
    """TGI refuses to start unless input < total <= the model's limit and prefill >= input. The input limit
    follows the total (one token less) unless given."""
    require_int(
        "max_total_tokens",
        max_total,
        minimum=2,
        maximum=MISTRAL_7B_MAX_TOTAL_TOKENS,
        hint=f"Mistral 7B's context window is {MISTRAL_7B_MAX_TOTAL_TOKENS} tokens",
    )
    if max_input is None:
        max_input = max_total - 1
    require_int("max_input_length", max_input, minimum=1, maximum=MISTRAL_7B_MAX_TOTAL_TOKENS - 1)
    if max_input >= max_total:
        raise ConfigurationError(
            f"max_input_length ({max_input}) must be less than max_total_tokens ({max_total}): "
            "TGI needs room for at least one generated token"
        )
    prefill = max_input if max_prefill is None else max_prefill
    require_int("max_batch_prefill_tokens", prefill, minimum=1)
    if prefill < max_input:
        raise ConfigurationError(
            f"max_batch_prefill_tokens ({prefill}) must be at least max_input_length ({max_input}): "
            "TGI cannot prefill a maximal prompt otherwise"
        )
    return max_input, max_total, prefill


def component_memory_mb(instance_type: str) -> int:
    """Host memory (MiB) an inference component reserves on ``instance_type``: see COMPONENT_MEMORY_MB_PER_GPU."""
    return COMPONENT_MEMORY_MB_PER_GPU * GPUS_BY_INSTANCE_TYPE[instance_type]


def _check_extra_environment(extra: Mapping[str, str]) -> dict[str, str]:
    if len(extra) > 80:
        raise ConfigurationError(
            f"container_environment has {len(extra)} entries: SageMaker allows 100 in all"
        )
    for key, value in extra.items():
        if key in _PROP_FOR_KEY:
            raise ConfigurationError(
                f"container_environment sets {key}: use the {_PROP_FOR_KEY[key]} prop instead"
            )
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise ConfigurationError(
                f"container_environment key {key!r} is not a valid environment variable name"
            )
        if not isinstance(value, str) or (not Token.is_unresolved(value) and len(value) > 1024):
            raise ConfigurationError(
                f"container_environment[{key!r}] must be a string of at most 1024 characters, got {value!r}"
            )
    return dict(extra)


def _endpoint_name(scope: Construct, name: str | None) -> str:
    if name is None:
        return Names.unique_resource_name(scope, max_length=63, separator="-").lower()
    if not is_unresolved(name) and not _ENDPOINT_NAME.match(name):
        raise ConfigurationError(_endpoint_name_error(name))
    return name


def _endpoint_name_error(name: str) -> str:
    return (
        f"endpoint_name {name!r} is not a valid SageMaker endpoint name: 1-63 letters, digits and "
        "hyphens, starting and ending with a letter or digit"
    )
