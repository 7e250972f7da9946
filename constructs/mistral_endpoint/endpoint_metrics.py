"""What every Mistral endpoint offers, created here or imported: its interface, grants and ``metric_*`` methods.

The metrics' dimensions and the ARNs a caller needs come from the endpoint's :class:`HostingMode`: this module
never asks which mode is in force.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

import jsii
from aws_cdk import Duration, Resource, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.interfaces.aws_sagemaker import EndpointReference
from constructs import Construct, DependencyGroup, IDependable

from ._validation import ConfigurationError, is_unresolved
from .model import MistralModel

if TYPE_CHECKING:  # types only
    from .hosting_modes import HostingMode

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INSTANCE_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
# InvokeEndpointWithResponseStream is authorized by sagemaker:InvokeEndpoint (botocore's service model); both
# are listed so a policy reads as what it allows.
INVOKE_ENDPOINT_ACTIONS = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]


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
    def hosting_mode(self) -> HostingMode:
        """How the model is hosted (an instance variant or an inference component): metric dimensions,
        invoke ARNs, the proxy's environment."""
        ...

    @property
    def invoke_resource_arns(self) -> list[str]:
        """The ARNs InvokeEndpoint authorizes against: the endpoint, and its inference component if any."""
        ...

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """A CloudWatch metric of this endpoint's variant."""
        ...


class EndpointMetrics:
    """``grant_invoke`` and the ``metric_*`` methods, for anything with an endpoint ARN and a hosting mode."""

    endpoint_name: str
    endpoint_arn: str
    hosting_mode: HostingMode

    @property
    def in_service(self) -> IDependable:
        """Depend on this to be created once the endpoint is InService (nothing to wait for when imported)."""
        return DependencyGroup()

    @property
    def invoke_resource_arns(self) -> list[str]:
        """What InvokeEndpoint authorizes against: the endpoint, and the inference component when the call
        names one (the service authorization reference lists both resource types for the action)."""
        return [self.endpoint_arn, *self.hosting_mode.component_arns(cast(Resource, self))]

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to invoke this endpoint, buffered and streaming (``sagemaker:InvokeEndpoint`` and
        ``sagemaker:InvokeEndpointWithResponseStream``), on this endpoint (and its inference component) only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=INVOKE_ENDPOINT_ACTIONS,
            resource_arns=self.invoke_resource_arns,
        )

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
            dimensions_map=self.hosting_mode.dimensions(namespace),
            **{**self._metric_environment(), **props},
        )

    def _metric_environment(self) -> dict[str, str]:
        """The account and region of an endpoint imported from another environment (CloudWatch reads its
        metrics there); nothing for an endpoint of this stack's environment."""
        return {}

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
        return self.metric(
            self.hosting_mode.concurrency_metric_name,
            **{"statistic": "Maximum", "period": Duration.minutes(1), **props},
        )

    def metric_no_capacity_invocation_failures(self, **props: Any) -> cloudwatch.Metric:
        """NoCapacityInvocationFailures: requests refused because the inference component had no copy
        (scale-to-zero mode only; a ConfigurationError otherwise). Default: sum over 1 minute."""
        self.hosting_mode.require_wake_signal()
        return self.metric(
            "NoCapacityInvocationFailures", **{"statistic": "Sum", "period": Duration.minutes(1), **props}
        )

    def wake_refusals(self, **props: Any) -> cloudwatch.Metric | None:
        """Requests refused while the model wakes from zero (NoCapacityInvocationFailures), or None where the
        hosting mode never refuses for that reason."""
        return self.hosting_mode.wake_refusals(self, **props)


@jsii.implements(sagemaker.IEndpoint)
class ModelEndpointBase(EndpointMetrics, Resource):
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
        hosting_mode: HostingMode,
        arn: str | None = None,
    ) -> None:
        self._endpoint_name = endpoint_name
        self._hosting_mode = hosting_mode
        self._endpoint_arn = arn or endpoint_arn(self, endpoint_name)
        self._model = MistralModel.of(model)
        self._max_input_length = max_input_length
        self._max_total_tokens = max_total_tokens

    @property
    def endpoint_name(self) -> str:  # type: ignore[override]
        """The endpoint's name."""
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:  # type: ignore[override]
        """The endpoint's ARN (its name lower-cased, as SageMaker writes it)."""
        return self._endpoint_arn

    def _metric_environment(self) -> dict[str, str]:
        # Asked once per metric (about forty): each of the four lookups is a round trip to jsii's Node process.
        known: dict[str, str] | None = self.__dict__.get("_metric_environment_cache")
        if known is None:
            account, region = self.env.account, self.env.region
            same = account == self.stack.account and region == self.stack.region
            known = {} if same else {"account": account, "region": region}
            self.__dict__["_metric_environment_cache"] = known
        return dict(known)

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
    def variant_name(self) -> str:
        """The production variant the metrics are reported for."""
        return self._hosting_mode.variant_name

    @property
    def hosting_mode(self) -> HostingMode:  # type: ignore[override]
        """How the model is hosted: an instance variant, or an inference component (scale-to-zero mode)."""
        return self._hosting_mode

    @property
    def inference_component_name(self) -> str | None:
        """The inference component serving the model (scale-to-zero mode), or None."""
        return self._hosting_mode.inference_component_name


class ImportedModelEndpoint(ModelEndpointBase):
    """An endpoint deployed elsewhere: an :class:`IMistralModelEndpoint` with grants and metrics."""

    def __init__(
        self, scope: Construct, id: str, *, environment_from_arn: str | None, **attributes: Any
    ) -> None:
        super().__init__(scope, id, environment_from_arn=environment_from_arn)
        self._init_attributes(**attributes)


def check_same_environment(scope: Construct, endpoint: object) -> None:
    """Refuse an endpoint of another account or region for a caller in ``scope``, when both are known.

    InvokeEndpoint reaches an endpoint of the caller's own account and region: another account's endpoint
    takes requests only through an inference router (SageMaker guide, "Route requests to endpoints in other
    AWS accounts"), and the proxy's client calls its own region's sagemaker.runtime.
    """
    if not isinstance(endpoint, Resource):
        return
    stack = Stack.of(scope)
    for what, theirs, ours in (
        ("account", endpoint.env.account, stack.account),
        ("region", endpoint.env.region, stack.region),
    ):
        if not is_unresolved(theirs) and not is_unresolved(ours) and theirs != ours:
            raise ConfigurationError(
                f"the endpoint is in {what} {theirs}, the invoke proxy in {ours}: SageMaker runtime takes "
                f"InvokeEndpoint from the endpoint's own account and region only; deploy the proxy there "
                f"(in a stack with env account and region of the endpoint)"
            )


def endpoint_arn(scope: Construct, endpoint_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="sagemaker", resource="endpoint", resource_name=arn_name(endpoint_name)
    )


def arn_name(name: str) -> str:
    # SageMaker lower-cases names inside ARNs, and IAM compares ARNs case-sensitively.
    return name if is_unresolved(name) else name.lower()
