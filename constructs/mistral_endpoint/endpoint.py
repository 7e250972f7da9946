"""MistralEndpoint: the whole pattern (network, model hosting, invoke proxy, monitoring) in one construct."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ._container import GPUS_BY_INSTANCE_TYPE
from ._validation import ConfigurationError, require_bool
from .alarms import AlarmPlan
from .endpoint_metrics import EndpointMetrics
from .hosting import MistralModelEndpoint
from .hosting_modes import HostingMode
from .model import MistralModel
from .network import IsolatedNetwork
from .operations import MistralMonitoring
from .private_api import check_private_api_options
from .props import (
    FRONT_DOORS,
    PARTS,
    FrontDoorOptions,
    LogOptions,
    MonitoringOptions,
    NetworkOptions,
    ProxyOptions,
    ScalingOptions,
    ServingOptions,
    UpdateOptions,
    part_of,
    split_flat_props,
)
from .proxy import InvokeProxy
from .token_metrics import TokenMetrics

if TYPE_CHECKING:  # types only: importing the module costs synth time
    from aws_cdk import aws_sns as sns

    from .private_api import PrivateApi


class MistralEndpoint(EndpointMetrics, TokenMetrics, Construct):
    """Mistral 7B on a private SageMaker endpoint, called through a signed Lambda function URL.

    With no props: Mistral 7B Instruct (JumpStart weights) on the Hugging Face TGI 1.1 container, one
    ml.g5.2xlarge, network-isolated in a new VPC of isolated subnets, an IAM-authenticated invoke proxy in the
    same subnets, and alarms, their topic and a dashboard. Every part is also usable on its own
    (:class:`IsolatedNetwork`, :class:`MistralModelEndpoint`, :class:`InvokeProxy`, :class:`MistralMonitoring`),
    and each takes the options part this construct passes it whole.

    ``front_door_options`` picks the door: the function URL (default), a private REST API reachable only through
    ``execute-api`` VPC endpoints (:class:`PrivateApi`), or both in front of the one function.

    ``grant_invoke`` grants every front door there is; ``grant_invoke_endpoint`` grants SageMaker's
    InvokeEndpoint on the endpoint itself. The ``metric_*`` methods read the endpoint's and the proxy's metrics.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network_options: NetworkOptions | None = None,
        serving_options: ServingOptions | None = None,
        scaling_options: ScalingOptions | None = None,
        update_options: UpdateOptions | None = None,
        proxy_options: ProxyOptions | None = None,
        monitoring_options: MonitoringOptions | None = None,
        log_options: LogOptions | None = None,
        front_door_options: FrontDoorOptions | None = None,
        **flat_props: Any,
    ) -> None:
        """
        :param network_options: the VPC, its subnets and endpoints (:class:`NetworkOptions`). Default: a new VPC.
        :param serving_options: the model and its container (:class:`ServingOptions`). Default: Mistral 7B
            Instruct on one ml.g5.2xlarge.
        :param scaling_options: autoscaling, scale to zero, schedules (:class:`ScalingOptions`).
        :param update_options: how updates deploy and roll back (:class:`UpdateOptions`).
        :param proxy_options: the invoke proxy and its URL (:class:`ProxyOptions`).
        :param monitoring_options: alarms, topic, dashboard (:class:`MonitoringOptions`).
        :param log_options: every log group (:class:`LogOptions`).
        :param front_door_options: the function URL, a private REST API, or both (:class:`FrontDoorOptions`).
            Default: the function URL.
        :param flat_props: any field of those parts as a keyword, as in earlier releases (deprecated: it goes in
            the next release; ``role`` is ``ServingOptions.execution_role``).
        """
        super().__init__(scope, id)
        flat = split_flat_props("MistralEndpoint", flat_props, PARTS, aliases={"role": "execution_role"})
        serving = part_of(ServingOptions, serving_options, flat)
        proxy_options = part_of(ProxyOptions, proxy_options, flat)
        monitoring = part_of(MonitoringOptions, monitoring_options, flat)
        log_options = part_of(LogOptions, log_options, flat)
        door = part_of(FrontDoorOptions, front_door_options, flat)
        _check_front_door(door, proxy_options)
        require_bool("proxy_in_vpc", proxy_options.proxy_in_vpc)
        require_bool("monitoring", monitoring.monitoring)
        self.model = MistralModel.of(serving.model)
        #: The VPC and its endpoints.
        self.network = IsolatedNetwork(
            self,
            "Network",
            model=self.model,
            network_options=part_of(NetworkOptions, network_options, flat),
            log_options=log_options,
        )
        # The monitoring's 5xx and latency alarms roll updates back too. They watch an endpoint that does not
        # exist yet: one plan names them for both, and the endpoint waits for the ones the monitoring makes.
        plan = AlarmPlan(self, monitoring.alarm_settings) if monitoring.monitoring else None
        updates = part_of(UpdateOptions, update_options, flat)
        #: The alarms an update of the endpoint rolls back on: ``rollback_alarms`` and the monitoring's 5xx and
        #: time-per-token alarms.
        self.rollback_alarms: list[cloudwatch.IAlarm] = [
            *updates.rollback_alarms,
            *(plan.rollback_alarms(self) if plan is not None else []),
        ]
        #: The SageMaker model, endpoint configuration and endpoint.
        self.endpoint = MistralModelEndpoint(
            self,
            "Hosting",
            vpc=self.network.vpc,
            vpc_subnets=self.network.subnets,
            serving_options=serving,
            scaling_options=part_of(ScalingOptions, scaling_options, flat),
            update_options=UpdateOptions(
                rollback_alarms=self.rollback_alarms, deployment_baking_time=updates.deployment_baking_time
            ),
            log_options=log_options,
        )
        self._create_proxy(proxy_options, log_options, door)
        self._create_monitoring(plan, monitoring, log_options, serving.instance_type)
        self._expose_parts()

    def _create_proxy(self, options: ProxyOptions, log_options: LogOptions, door: FrontDoorOptions) -> None:
        in_vpc = options.proxy_in_vpc
        #: The Lambda invoke proxy and its function URL.
        self.proxy = InvokeProxy(
            self,
            "Proxy",
            endpoint=self.endpoint,
            vpc=self.network.vpc if in_vpc else None,
            vpc_subnets=self.network.subnets if in_vpc else None,
            proxy_options=options,
            log_options=log_options,
            function_url=door.front_door != "private",
        )
        #: The private front door (None with ``front_door="url"``).
        self.private_api: PrivateApi | None = None
        if door.front_door != "url":
            from .private_api import PrivateApi

            self.private_api = PrivateApi(
                self,
                "PrivateApi",
                function=self.proxy.function,
                streaming=self.proxy.streaming,
                vpc=self.network.vpc,
                vpc_subnets=self.network.subnets,
                front_door_options=door,
                log_options=log_options,
                proxy_concurrency=options.proxy_reserved_concurrent_executions,
            )
        if in_vpc:
            self.network.allow_runtime_from(self.proxy.connections)
        if self.network.s3_endpoint is not None:
            # The weights download through the S3 gateway route: it must exist before the endpoint starts.
            self.endpoint.start_after(self.network.s3_endpoint)

    def _create_monitoring(
        self, plan: AlarmPlan | None, options: MonitoringOptions, log_options: LogOptions, instance_type: str
    ) -> None:
        #: Alarms, topic and dashboard (None with ``monitoring=False``).
        self.monitoring: MistralMonitoring | None = None
        if plan is not None:
            self.monitoring = MistralMonitoring(
                self,
                "Monitoring",
                endpoint=self.endpoint,
                proxy=self.proxy,
                private_api=self.private_api,
                monitoring_options=MonitoringOptions(
                    alarm_topic=options.alarm_topic,
                    alarm_email=options.alarm_email,
                    dashboard_name=options.dashboard_name,
                ),
                plan=plan,
                gpus_per_instance=GPUS_BY_INSTANCE_TYPE[instance_type],
                log_options=log_options,
            )
            # An update names these alarms: CloudFormation must create them before the endpoint.
            self.endpoint.start_after(plan.rollback_alarms_made)
        elif any(
            value is not None
            for value in (
                options.alarm_topic,
                options.alarm_email,
                options.alarm_settings,
                options.dashboard_name,
            )
        ):
            raise ConfigurationError(
                "alarm_topic, alarm_email, alarm_settings and dashboard_name configure the alarms: drop them, or "
                "keep monitoring=True"
            )

    def _expose_parts(self) -> None:
        #: The VPC the model and (by default) the proxy run in.
        self.vpc: ec2.IVpc = self.network.vpc
        #: The SageMaker endpoint's name and ARN.
        self.endpoint_name: str = self.endpoint.endpoint_name
        self.endpoint_arn: str = self.endpoint.endpoint_arn
        self.variant_name: str = self.endpoint.variant_name
        #: How the model is hosted (an instance variant, or an inference component in scale-to-zero mode).
        self.hosting_mode: HostingMode = self.endpoint.hosting_mode
        #: The inference component serving the model (scale-to-zero mode), or None.
        self.inference_component_name: str | None = self.endpoint.inference_component_name
        #: The model's execution role (SageMaker assumes it to pull the image and read the weights).
        self.model_role: iam.IRole = self.endpoint.role
        #: The proxy function's role.
        self.proxy_role: iam.IRole = self.proxy.role
        #: The proxy function: grants to it land in the proxy's customer-managed policy.
        self.function: lambda_.Function = self.proxy.function
        #: The function URL (ends with "/"); None with ``front_door="private"``.
        self.invoke_url: str | None = self.proxy.invoke_url
        #: The private API's stage URL (ends with "/"); None with ``front_door="url"``.
        self.private_api_url: str | None = self.private_api.url if self.private_api else None
        #: The proxy's network access (allow it to reach your own services through this).
        self.connections: ec2.Connections = self.proxy.connections
        monitoring = self.monitoring
        #: Alarm name -> alarm (empty with ``monitoring=False``); see :class:`MistralMonitoring`.
        self.alarms: dict[str, cloudwatch.Alarm] = monitoring.alarms if monitoring else {}
        #: The CloudWatch dashboard (None with ``monitoring=False``).
        self.dashboard: cloudwatch.Dashboard | None = monitoring.dashboard if monitoring else None
        #: The topic alarm and OK notifications go to (None with ``monitoring=False``).
        self.alarm_topic: sns.ITopic | None = monitoring.alarm_topic if monitoring else None

    @property
    def invoke_resource_arns(self) -> list[str]:
        """What InvokeEndpoint authorizes against: the endpoint, and its inference component if any."""
        return self.endpoint.invoke_resource_arns

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to call every front door there is (every route: generate, chat, the OpenAI route,
        streamed or not): the function URL (:meth:`InvokeProxy.grant_invoke_url`) and the private API
        (:meth:`PrivateApi.grant_invoke`, other accounts' principals included)."""
        grants = []
        if self.proxy.function_url is not None:
            grants.append(self.proxy.grant_invoke_url(grantee))
        if self.private_api is not None:
            grants.append(self.private_api.grant_invoke(grantee))
        return grants[0] if len(grants) == 1 else grants[0].combine(grants[1])

    def grant_invoke_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """The function URL only (refused with ``front_door="private"``, which has none)."""
        return self.proxy.grant_invoke_url(grantee)

    def grant_invoke_endpoint(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to call SageMaker directly, past the proxy (``sagemaker:InvokeEndpoint`` and
        ``InvokeEndpointWithResponseStream`` on this endpoint and its inference component): for callers inside
        the VPC, which cannot reach a function URL privately. They skip the proxy's validation and metrics."""
        return self.endpoint.grant_invoke(grantee)


def _check_front_door(door: FrontDoorOptions, proxy: ProxyOptions) -> None:
    """Which doors, and the private door's props only where there is one."""
    if door.front_door not in FRONT_DOORS:
        raise ConfigurationError(
            f"front_door must be one of {', '.join(FRONT_DOORS)}, got {door.front_door!r}", prop="front_door"
        )
    if door.front_door == "url":
        defaults = FrontDoorOptions()
        given = [
            name
            for name in (
                "private_api_vpc_endpoint_ids",
                "private_api_endpoint_peers",
                "private_api_rate_limit",
                "private_api_burst_limit",
                "create_private_api_endpoint",
            )
            if getattr(door, name) != getattr(defaults, name)
        ]
        if given:
            raise ConfigurationError(
                f"{', '.join(given)} configure the private API: set front_door='private' or 'both', or drop them"
            )
        return
    check_private_api_options(door, proxy.proxy_reserved_concurrent_executions)
    if door.front_door == "private" and proxy.auth_type == lambda_.FunctionUrlAuthType.NONE:
        raise ConfigurationError(
            "auth_type sets the function URL's authorization, and front_door='private' has no function URL: "
            "drop auth_type",
            prop="auth_type",
        )
