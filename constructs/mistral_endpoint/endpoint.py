"""MistralEndpoint: the whole pattern (network, model hosting, invoke proxy) in one construct."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._container import GPUS_BY_INSTANCE_TYPE
from ._validation import ConfigurationError, require_bool, require_int
from .alarms import AlarmPlan, AlarmSettings
from .defaults import DEFAULTS
from .endpoint_metrics import EndpointMetrics
from .hosting import MistralModelEndpoint
from .hosting_modes import HostingMode
from .model import MistralModel
from .network import IsolatedNetwork
from .operations import MistralMonitoring
from .proxy import InvokeProxy
from .scaling import ScalingSchedule
from .token_metrics import TokenMetrics

if TYPE_CHECKING:  # types only: importing the module costs synth time
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns


class _Logging(TypedDict):
    """The log settings every part takes alike."""

    log_retention: logs.RetentionDays
    log_encryption_key: kms.IKey | None
    removal_policy: RemovalPolicy


class MistralEndpoint(EndpointMetrics, TokenMetrics, Construct):
    """Mistral 7B on a private SageMaker endpoint, called through a signed Lambda function URL.

    With no props: Mistral 7B Instruct (JumpStart weights) on the Hugging Face TGI 1.1 container, one
    ml.g5.2xlarge, network-isolated in a new VPC of isolated subnets, and an IAM-authenticated invoke
    proxy in the same subnets. Every part is also importable on its own: :class:`IsolatedNetwork`,
    :class:`MistralModelEndpoint`, :class:`InvokeProxy`.

    Has the endpoint's ``grant_invoke`` and ``metric_*`` methods, the proxy's ``grant_invoke_url`` and token
    ``metric_*`` methods, and (``monitoring``, on by default) alarms, their topic and a dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
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
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        create_vpc_endpoints: bool = True,
        runtime_endpoint: ec2.IConnectable | None = None,
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
        proxy_in_vpc: bool = DEFAULTS.proxy_in_vpc,
        proxy_role: iam.IRole | None = None,
        auth_type: lambda_.FunctionUrlAuthType = lambda_.FunctionUrlAuthType.AWS_IAM,
        default_max_new_tokens: int = DEFAULTS.default_max_new_tokens,
        log_prompts: bool = False,
        proxy_memory_size: int = DEFAULTS.proxy_memory_size,
        proxy_reserved_concurrent_executions: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        monitoring: bool = DEFAULTS.monitoring,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
        alarm_settings: Mapping[str, AlarmSettings | None] | None = None,
        streaming: bool = DEFAULTS.streaming,
        web_adapter_layer: lambda_.ILayerVersion | None = None,
    ) -> None:
        """
        :param model: the weights. Default: ``MistralModel.instruct()``, Mistral 7B Instruct from JumpStart.
        :param instance_type: a g5 instance type from ml.g5.2xlarge up. Default: ml.g5.2xlarge.
        :param initial_instance_count: instances behind the endpoint. Default: 1.
        :param max_input_length: TGI MAX_INPUT_LENGTH (prompt tokens). Default: ``max_total_tokens`` - 1 (8191).
        :param max_total_tokens: TGI MAX_TOTAL_TOKENS (prompt plus generated), at most 8192. Default: 8192.
        :param max_batch_prefill_tokens: TGI MAX_BATCH_PREFILL_TOKENS. Default: max_input_length.
        :param max_concurrent_requests: TGI MAX_CONCURRENT_REQUESTS. Default: unset (TGI's 128).
        :param container_environment: extra container environment. Default: none.
        :param startup_health_check_timeout: 60 s to 1 h. Default: 15 minutes.
        :param model_data_download_timeout: 60 s to 1 h. Default: 15 minutes.
        :param vpc: your VPC. Default: a new VPC, isolated subnets in two AZs, flow logs.
        :param vpc_subnets: the subnets (two or more AZs). Default: the VPC's isolated subnets.
        :param create_vpc_endpoints: add the S3 gateway and sagemaker.runtime endpoints. Default: true.
        :param runtime_endpoint: your sagemaker.runtime interface endpoint, with ``create_vpc_endpoints=False``
            and the proxy in the VPC; the proxy is allowed to reach it. Default: none.
        :param role: the model's execution role (the construct attaches its policy). Default: a new role.
        :param endpoint_name: the SageMaker endpoint's name. Default: derived from the construct path.
        :param min_capacity: fewest instances autoscaling keeps. Default: 1 (0 with ``scale_to_zero``).
        :param max_capacity: most instances (copies with ``scale_to_zero``). Default: 2.
        :param target_concurrent_requests: concurrent requests per instance autoscaling holds. Default: 32, or
            half of ``max_concurrent_requests`` when lower.
        :param scale_out_cooldown: wait after a scale-out. Default: 5 minutes.
        :param scale_in_cooldown: wait after a scale-in. Default: 15 minutes.
        :param scale_to_zero: host the model as an inference component that scales to zero when idle.
            Default: false.
        :param schedule: keep capacity warm in a weekly window. Default: none.
        :param rollback_alarms: alarms that roll an update back while it bakes, besides the monitoring's
            ``Invocation5XXErrors`` and ``MsPerTokenP90``. Default: none.
        :param deployment_baking_time: how long an update watches the new fleet. Default: 10 minutes.
        :param proxy_in_vpc: run the proxy in ``vpc_subnets``. Default: true.
        :param proxy_role: the proxy function's role (its managed policy is attached to it). Default: a new role.
        :param auth_type: the function URL's auth. Default: AWS_IAM.
        :param default_max_new_tokens: the proxy's default ``max_new_tokens``. Default: 512.
        :param log_prompts: let the proxy log prompt text (debugging only). Default: false.
        :param proxy_memory_size: the proxy's memory in MiB. Default: 512.
        :param proxy_reserved_concurrent_executions: reserve (and cap) the proxy's concurrency, for example
            ``max_capacity`` x TGI's MAX_CONCURRENT_REQUESTS (128). Default: unreserved (see the README's
            "Proxy concurrency": a reservation is taken from every other function of the account).
        :param log_retention: retention of every log group. Default: one year.
        :param log_encryption_key: KMS key for every log group. Default: CloudWatch Logs' encryption.
        :param removal_policy: applied to the log groups (and the alarm topic's KMS key). Default: destroy.
        :param monitoring: create the alarms, their topic and the dashboard (:class:`MistralMonitoring`).
            Default: true.
        :param alarm_topic: your SNS topic for alarm and OK notifications. Default: a new topic encrypted with a
            new KMS key (rotation on) that refuses publishes without TLS.
        :param alarm_email: an address to subscribe to the alarm topic. Default: none.
        :param alarm_settings: alarm name -> ``AlarmSettings(threshold, evaluation_periods)``, or None to leave
            that alarm out. Default: ``DEFAULTS.alarms``.
        :param streaming: the proxy answers ``"stream": true`` with server-sent events through a RESPONSE_STREAM
            function URL (Lambda Web Adapter layer); false: a buffered function URL. Default: true.
        :param web_adapter_layer: your copy of the Lambda Web Adapter layer, with ``streaming``: for a region
            without the public layer (GovCloud, ISO, EUSC) or an account that allows no public layers.
            Default: the pinned public layer of the stack's region.
        """
        super().__init__(scope, id)
        for name, flag in {
            "create_vpc_endpoints": create_vpc_endpoints,
            "scale_to_zero": scale_to_zero,
            "proxy_in_vpc": proxy_in_vpc,
            "log_prompts": log_prompts,
            "monitoring": monitoring,
            "streaming": streaming,
        }.items():
            require_bool(name, flag)
        if proxy_reserved_concurrent_executions is not None:
            require_int(
                "proxy_reserved_concurrent_executions",
                proxy_reserved_concurrent_executions,
                minimum=1,
                hint="leave it unset to reserve nothing (the default)",
            )
        self.model = MistralModel.of(model)
        logging = _Logging(
            log_retention=log_retention, log_encryption_key=log_encryption_key, removal_policy=removal_policy
        )
        #: The VPC and its endpoints.
        self.network = IsolatedNetwork(
            self,
            "Network",
            model=self.model,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            create_vpc_endpoints=create_vpc_endpoints,
            runtime_endpoint=runtime_endpoint,
            **logging,
        )
        # The monitoring's 5xx and latency alarms roll updates back too. They watch an endpoint that does not
        # exist yet: one plan names them for both, and the endpoint waits for the ones the monitoring makes.
        plan = AlarmPlan(self, alarm_settings) if monitoring else None
        monitored_rollback = plan.rollback_alarms(self) if plan is not None else []
        #: The alarms an update of the endpoint rolls back on: ``rollback_alarms`` and the monitoring's 5xx and
        #: p90 latency alarms (by name).
        self.rollback_alarms: list[cloudwatch.IAlarm] = [*rollback_alarms, *monitored_rollback]
        #: The SageMaker model, endpoint configuration and endpoint.
        self.endpoint = MistralModelEndpoint(
            self,
            "Hosting",
            vpc=self.network.vpc,
            vpc_subnets=self.network.subnets,
            model=self.model,
            instance_type=instance_type,
            initial_instance_count=initial_instance_count,
            max_input_length=max_input_length,
            max_total_tokens=max_total_tokens,
            max_batch_prefill_tokens=max_batch_prefill_tokens,
            max_concurrent_requests=max_concurrent_requests,
            container_environment=container_environment,
            startup_health_check_timeout=startup_health_check_timeout,
            model_data_download_timeout=model_data_download_timeout,
            role=role,
            endpoint_name=endpoint_name,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            target_concurrent_requests=target_concurrent_requests,
            scale_out_cooldown=scale_out_cooldown,
            scale_in_cooldown=scale_in_cooldown,
            scale_to_zero=scale_to_zero,
            schedule=schedule,
            rollback_alarms=self.rollback_alarms,
            deployment_baking_time=deployment_baking_time,
            **logging,
        )
        #: The Lambda invoke proxy and its function URL.
        self.proxy = InvokeProxy(
            self,
            "Proxy",
            endpoint=self.endpoint,
            vpc=self.network.vpc if proxy_in_vpc else None,
            vpc_subnets=self.network.subnets if proxy_in_vpc else None,
            role=proxy_role,
            auth_type=auth_type,
            default_max_new_tokens=default_max_new_tokens,
            log_prompts=log_prompts,
            memory_size=proxy_memory_size,
            reserved_concurrent_executions=proxy_reserved_concurrent_executions,
            streaming=streaming,
            web_adapter_layer=web_adapter_layer,
            **logging,
        )
        if proxy_in_vpc:
            self.network.allow_runtime_from(self.proxy.connections)
        if self.network.s3_endpoint is not None:
            # The weights download through the S3 gateway route: it must exist before the endpoint starts.
            self.endpoint.start_after(self.network.s3_endpoint)

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
        #: The URL applications call (ends with "/").
        self.invoke_url: str = self.proxy.invoke_url
        #: The proxy's network access (allow it to reach your own services through this).
        self.connections: ec2.Connections = self.proxy.connections

        #: Alarms, topic and dashboard (None with ``monitoring=False``).
        self.monitoring: MistralMonitoring | None = None
        if plan is not None:
            self.monitoring = MistralMonitoring(
                self,
                "Monitoring",
                endpoint=self.endpoint,
                proxy=self.proxy,
                alarm_topic=alarm_topic,
                alarm_email=alarm_email,
                plan=plan,
                gpus_per_instance=GPUS_BY_INSTANCE_TYPE[instance_type],
                removal_policy=removal_policy,
            )
            # An update names these alarms: CloudFormation must create them before the endpoint.
            self.endpoint.start_after(plan.rollback_alarms_made)
        elif alarm_topic is not None or alarm_email is not None or alarm_settings is not None:
            raise ConfigurationError(
                "alarm_topic, alarm_email and alarm_settings configure the alarms: drop them, or keep "
                "monitoring=True"
            )
        #: Alarm name -> alarm (empty with ``monitoring=False``); see :class:`MistralMonitoring`.
        self.alarms: dict[str, cloudwatch.Alarm] = self.monitoring.alarms if self.monitoring else {}
        #: The CloudWatch dashboard (None with ``monitoring=False``).
        self.dashboard: cloudwatch.Dashboard | None = self.monitoring.dashboard if self.monitoring else None
        #: The topic alarm and OK notifications go to (None with ``monitoring=False``).
        self.alarm_topic: sns.ITopic | None = self.monitoring.alarm_topic if self.monitoring else None

    def grant_invoke_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to call the function URL; see :meth:`InvokeProxy.grant_invoke_url`."""
        return self.proxy.grant_invoke_url(grantee)
