"""Operations: the proxy's token metrics, alarms on the endpoint and the proxy, their topic, and a dashboard."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from aws_cdk import Aws, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ._lambda.invoke_proxy import metrics as emf
from ._validation import ConfigurationError
from .defaults import DEFAULTS

if TYPE_CHECKING:  # types only: the proxy module imports this one
    from .hosting import EndpointMetrics
    from .proxy import InvokeProxy

#: Every alarm is evaluated on one-minute periods (SageMaker's and Lambda's metrics are per minute).
ALARM_PERIOD = Duration.minutes(1)
_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AlarmSettings(NamedTuple):
    """One alarm's threshold (in the unit the README's Operations table gives) and evaluation periods."""

    threshold: float
    evaluation_periods: int


class TokenMetrics:
    """The proxy's embedded-metric-format metrics (namespace ``MistralEndpoint``), for anything that knows
    the name of the endpoint the proxy calls. Dimensions: EndpointName and StatusClass (``2xx``, ``4xx``,
    ``5xx``), plus Route when ``route`` is given."""

    endpoint_name: str

    def proxy_metric(
        self, metric_name: str, *, status_class: str = "2xx", route: str | None = None, **props: Any
    ) -> cloudwatch.Metric:
        """One of the proxy's metrics, as it writes them (see ``invoke_proxy/metrics.py``).

        :param metric_name: e.g. ``GeneratedTokens``, ``TokensPerSecond``, ``MsPerToken``.
        :param status_class: ``2xx`` (default), ``4xx`` or ``5xx``.
        :param route: a route such as ``/generate``. Default: all routes together.
        :param props: any ``cloudwatch.MetricOptions`` field (``statistic``, ``period``, ``label``, ...).
        """
        if status_class not in emf.STATUS_CLASSES:
            raise ConfigurationError(
                f"status_class {status_class!r} is not one the proxy writes: use one of {', '.join(emf.STATUS_CLASSES)}"
            )
        dimensions = {emf.ENDPOINT_NAME: self.endpoint_name, emf.STATUS_CLASS: status_class}
        if route is not None:
            dimensions[emf.ROUTE] = route
        return cloudwatch.Metric(
            namespace=emf.NAMESPACE, metric_name=metric_name, dimensions_map=dimensions, **props
        )

    def metric_requests(self, **props: Any) -> cloudwatch.Metric:
        """Requests the proxy answered (health probes excluded). Default: sum over 5 minutes, 2xx."""
        return self.proxy_metric(emf.REQUESTS, **{"statistic": "Sum", **props})

    def metric_request_latency(self, **props: Any) -> cloudwatch.Metric:
        """RequestLatency (ms): the proxy's whole answer, validation to response. Default: p50, 2xx."""
        return self.proxy_metric(emf.REQUEST_LATENCY, **{"statistic": "p50", **props})

    def metric_input_tokens(self, **props: Any) -> cloudwatch.Metric:
        """InputTokens: prompt tokens, when TGI reports them (``decoder_input_details``). Default: sum, 2xx."""
        return self.proxy_metric(emf.INPUT_TOKENS, **{"statistic": "Sum", **props})

    def metric_generated_tokens(self, **props: Any) -> cloudwatch.Metric:
        """GeneratedTokens: tokens the model generated. Default: sum over 5 minutes, 2xx."""
        return self.proxy_metric(emf.GENERATED_TOKENS, **{"statistic": "Sum", **props})

    def metric_tokens_per_second(self, **props: Any) -> cloudwatch.Metric:
        """TokensPerSecond: one request's generated tokens over its model time. Default: p50, 2xx."""
        return self.proxy_metric(emf.TOKENS_PER_SECOND, **{"statistic": "p50", **props})

    def metric_ms_per_token(self, **props: Any) -> cloudwatch.Metric:
        """MsPerToken: one request's model time per generated token (the launch article's latency figure).
        Default: p50, 2xx."""
        return self.proxy_metric(emf.MS_PER_TOKEN, **{"statistic": "p50", **props})

    def metric_time_to_first_token(self, **props: Any) -> cloudwatch.Metric:
        """TimeToFirstToken (ms), for streamed requests. Default: p50, 2xx."""
        return self.proxy_metric(emf.TIME_TO_FIRST_TOKEN, **{"statistic": "p50", **props})

    def metric_model_scaling_up(self, **props: Any) -> cloudwatch.Metric:
        """ModelScalingUp: requests answered 503 while a scaled-to-zero model starts. Default: sum, 5xx."""
        return self.proxy_metric(emf.MODEL_SCALING_UP, **{"statistic": "Sum", "status_class": "5xx", **props})


class MistralMonitoring(Construct):
    """Alarms on the endpoint and the invoke proxy, the topic they notify, and one dashboard.

    Every alarm is evaluated on one-minute periods and can be tuned or left out through ``alarm_settings``;
    each treats missing data on purpose: no traffic (or a model scaled to zero) is not an outage, except for
    ``NoHealthyCapacity``, where silence from the GPUs of an always-on endpoint is the symptom.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint: EndpointMetrics,
        proxy: InvokeProxy | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarm_email: str | None = None,
        alarm_settings: Mapping[str, AlarmSettings | None] | None = None,
        gpus_per_instance: int = 1,
        dashboard_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """
        :param endpoint: the endpoint to watch: a ``MistralModelEndpoint`` or one imported with
            ``MistralModelEndpoint.from_endpoint_attributes``.
        :param proxy: the invoke proxy in front of it. Default: none (no proxy alarms or token graphs).
        :param alarm_topic: your SNS topic for alarm and OK notifications. Default: a new topic encrypted
            with a new KMS key (rotation on) that refuses publishes without TLS.
        :param alarm_email: an address to subscribe to the topic (it must confirm). Default: none.
        :param alarm_settings: alarm name -> ``AlarmSettings(threshold, evaluation_periods)``, or None to leave
            that alarm out. Default: ``DEFAULTS.alarms`` for every alarm.
        :param gpus_per_instance: GPUs per instance (SageMaker sums GPU memory utilization over them).
            Default: 1.
        :param dashboard_name: the dashboard's name. Default: the stack's name and the path of ``scope`` below
            it (``MistralEndpointStack-Mistral``), which also starts every alarm's name.
        :param removal_policy: applied to the new topic's KMS key. Default: destroy (after a 7-day wait).
        """
        super().__init__(scope, id)
        settings = _resolve_settings(alarm_settings)
        self.endpoint = endpoint
        self.proxy = proxy
        #: The inference component, when the endpoint hosts the model as one (scale-to-zero mode).
        self.inference_component_name: str | None = getattr(endpoint, "inference_component_name", None)
        #: The topic alarm and OK notifications go to.
        self.alarm_topic: sns.ITopic = alarm_topic or self._new_topic(removal_policy)
        if alarm_email is not None:
            if not Token.is_unresolved(alarm_email) and not _EMAIL.match(alarm_email):
                raise ConfigurationError(
                    f"alarm_email {alarm_email!r} is not an email address (name@example.com)"
                )
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        prefix = name_prefix(scope)
        #: The dashboard's name.
        self.dashboard_name = _check_dashboard_name(dashboard_name or prefix)
        #: Alarm name (``ModelLatencyP90``, ...) -> alarm; only the alarms that apply and are not left out.
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._prefix = prefix
        self._gpus = gpus_per_instance
        for name, setting in settings.items():
            if setting is not None:
                self._add_alarm(name, setting)
        #: The CloudWatch dashboard.
        self.dashboard = self._dashboard()

    # ---- alarms --------------------------------------------------------------------------------------

    def _add_alarm(self, name: str, setting: AlarmSettings) -> None:
        endpoint, proxy = self.endpoint, self.proxy
        threshold, periods = setting
        ic = self.inference_component_name is not None
        greater = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        at_least = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        metric: cloudwatch.IMetric
        if name == "ModelLatencyP90":
            metric = endpoint.metric_model_latency(statistic="p90", period=ALARM_PERIOD)
            spec = (
                threshold * 1_000_000,
                greater,
                quiet,
                f"ModelLatency p90 above {threshold:g} s (SageMaker cuts the container off at 60 s)",
            )
        elif name == "Invocation5XXErrors":
            metric = endpoint.metric_invocation5xx_errors(period=ALARM_PERIOD)
            spec = (threshold, at_least, quiet, f"at least {threshold:g} model 5xx a minute")
        elif name == "Invocation4XXErrorRate":
            using = {
                "errors": endpoint.metric_invocation4xx_errors(period=ALARM_PERIOD),
                "invocations": endpoint.metric_invocations(period=ALARM_PERIOD),
            }
            errors = "FILL(errors, 0)"
            if ic:  # a wake from zero refuses requests for minutes: that is WakeUpNotCompleting's business
                using["nocapacity"] = endpoint.metric_no_capacity_invocation_failures(period=ALARM_PERIOD)
                errors = "(FILL(errors, 0) - FILL(nocapacity, 0))"
            metric = cloudwatch.MathExpression(
                expression=f"IF(invocations > 0, 100 * {errors} / invocations, 0)",
                using_metrics=using,
                label="Invocation4XXErrors (% of invocations)",
                period=ALARM_PERIOD,
            )
            spec = (
                threshold,
                greater,
                quiet,
                f"more than {threshold:g}% of invocations answered 4xx by the "
                "model (TGI overloaded, or prompts longer than MAX_INPUT_LENGTH tokens)",
            )
        elif name == "GPUMemoryUtilization":
            metric = endpoint.metric_gpu_memory_utilization(statistic="Maximum", period=ALARM_PERIOD)
            spec = (threshold * self._gpus, greater, quiet, f"GPU memory above {threshold:g}% per GPU")
        elif name == "NoHealthyCapacity":
            if ic:
                return
            metric = endpoint.metric_gpu_memory_utilization(statistic="Maximum", period=ALARM_PERIOD)
            spec = (
                threshold,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                cloudwatch.TreatMissingData.BREACHING,
                f"no GPU holds the model (memory below {threshold:g}%, or no instance reporting)",
            )
        elif name == "WakeUpNotCompleting":
            if not ic:
                return
            metric = endpoint.metric_no_capacity_invocation_failures(period=ALARM_PERIOD)
            spec = (
                threshold,
                at_least,
                quiet,
                f"requests refused for lack of capacity for {periods} minutes "
                "in a row: longer than a wake from zero takes",
            )
        elif proxy is None:
            return
        elif name == "ProxyErrors":
            metric = proxy.function.metric_errors(statistic="Sum", period=ALARM_PERIOD)
            spec = (threshold, at_least, quiet, "the proxy function failed (timeout, crash or init error)")
        elif name == "ProxyThrottles":
            metric = proxy.function.metric_throttles(statistic="Sum", period=ALARM_PERIOD)
            spec = (threshold, at_least, quiet, "Lambda refused proxy invocations (concurrency limit)")
        elif name == "ProxyDurationP99":
            timeout_ms = proxy.function.timeout.to_milliseconds() if proxy.function.timeout else 3000
            metric = proxy.function.metric_duration(statistic="p99", period=ALARM_PERIOD)
            spec = (
                timeout_ms * threshold / 100,
                greater,
                quiet,
                f"proxy Duration p99 above {threshold:g}% of its {timeout_ms / 1000:g} s timeout",
            )
        elif name == "MsPerTokenP90":
            # The update's latency signal. Whether ModelLatency covers a whole InvokeEndpointWithResponseStream
            # answer is not documented (its definition, "the time taken to complete the inference in the
            # container", fits either reading), and a healthy streamed answer of 2,000 tokens takes over a
            # minute: a p90 on ModelLatency could roll back a healthy model. Time per generated token does not
            # grow with the answer's length.
            metric = proxy.metric_ms_per_token(statistic="p90", period=ALARM_PERIOD)
            spec = (
                threshold,
                greater,
                quiet,
                f"model time per generated token p90 above {threshold:g} ms (the article's slowest healthy p50 "
                "is 213 ms, at 128 concurrent users)",
            )
        elif name == "ProxyServerErrorRate":
            total = "(FILL(r2, 0) + FILL(r4, 0) + FILL(r5, 0))"
            metric = cloudwatch.MathExpression(
                expression=f"IF({total} > 0, 100 * (FILL(r5, 0) - FILL(wake, 0)) / {total}, 0)",
                using_metrics={
                    **{
                        f"r{c[0]}": proxy.metric_requests(status_class=c, period=ALARM_PERIOD)
                        for c in emf.STATUS_CLASSES
                    },
                    "wake": proxy.metric_model_scaling_up(period=ALARM_PERIOD),
                },
                label="proxy 5xx (% of requests, wake-ups excluded)",
                period=ALARM_PERIOD,
            )
            spec = (
                threshold,
                greater,
                quiet,
                f"more than {threshold:g}% of the proxy's answers were 5xx (503 model_scaling_up excluded)",
            )
        else:  # pragma: no cover - _resolve_settings admits only the names above
            raise AssertionError(name)
        value, operator, missing, description = spec
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=f"{self.endpoint.endpoint_name}: {description}",
            metric=metric,
            threshold=value,
            comparison_operator=operator,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
        )
        action = cloudwatch_actions.SnsAction(self.alarm_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        cfn_endpoint = getattr(endpoint, "cfn_endpoint", None)
        if cfn_endpoint is not None and missing == cloudwatch.TreatMissingData.BREACHING:
            # CloudFormation finishes an endpoint once it is InService: before that, silence is not an outage.
            alarm.node.add_dependency(cfn_endpoint)
        elif cfn_endpoint is not None and name in ROLLBACK_ALARMS:
            # The endpoint's update may name this alarm (rollback_alarms): it must exist first.
            cfn_endpoint.node.add_dependency(alarm)
        self.alarms[name] = alarm

    def _new_topic(self, removal_policy: RemovalPolicy) -> sns.Topic:
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Mistral endpoint alarm topic: encrypts notifications at rest",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7),
        )
        alarm_arns = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
        from_this_accounts_alarms = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": alarm_arns},
        }
        # CloudWatch publishes to an encrypted topic only if the key lets it encrypt the message.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsEncryptNotifications",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=from_this_accounts_alarms,
            )
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="Mistral endpoint alarms",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=from_this_accounts_alarms,
            )
        )
        return topic

    # ---- dashboard -----------------------------------------------------------------------------------

    def _dashboard(self) -> cloudwatch.Dashboard:
        endpoint, proxy = self.endpoint, self.proxy
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=self.dashboard_name, default_interval=Duration.hours(3)
        )
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                width=24,
                height=2,
                markdown=(
                    f"# {endpoint.endpoint_name}\n"
                    "Top row: the launch article's two views for your own traffic. Read throughput (tokens/s, all "
                    "requests) and ms per token (p50) against the load on the right axis (requests in flight)."
                ),
            )
        )
        if proxy is not None:
            load = proxy.function.metric(
                "ConcurrentExecutions", statistic="Maximum", label="requests in flight", period=ALARM_PERIOD
            )
            generated = proxy.metric_generated_tokens(period=ALARM_PERIOD)
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Throughput against load (tokens/s)",
                    width=12,
                    left=[
                        cloudwatch.MathExpression(
                            expression="generated / PERIOD(generated)",
                            using_metrics={"generated": generated},
                            label="throughput (tokens/s)",
                            period=ALARM_PERIOD,
                        )
                    ],
                    right=[load],
                    left_y_axis=cloudwatch.YAxisProps(min=0, label="tokens/s", show_units=False),
                    right_y_axis=cloudwatch.YAxisProps(min=0, label="concurrent requests", show_units=False),
                ),
                cloudwatch.GraphWidget(
                    title="Latency per token against load (ms/token)",
                    width=12,
                    left=[
                        proxy.metric_ms_per_token(label="ms/token p50", period=ALARM_PERIOD),
                        proxy.metric_ms_per_token(statistic="p90", label="ms/token p90", period=ALARM_PERIOD),
                    ],
                    right=[load],
                    left_y_axis=cloudwatch.YAxisProps(min=0, label="ms/token", show_units=False),
                    right_y_axis=cloudwatch.YAxisProps(min=0, label="concurrent requests", show_units=False),
                ),
            )
        latency = [
            cloudwatch.MathExpression(
                expression=f"latency{stat} / 1000",
                using_metrics={
                    f"latency{stat}": endpoint.metric_model_latency(statistic=stat, period=ALARM_PERIOD)
                },
                label=f"ModelLatency {stat} (ms)",
                period=ALARM_PERIOD,
            )
            for stat in ("p50", "p90", "p99")
        ]
        capacity = [
            endpoint.metric_gpu_utilization(
                statistic="SampleCount", label="GPU reports a minute (~ instances)", period=ALARM_PERIOD
            ),
            # What autoscaling tracks: requests in flight per instance (per copy in scale-to-zero mode).
            endpoint.metric_concurrent_requests(label="concurrent requests per instance (max)"),
        ]
        if self.inference_component_name:
            capacity.append(endpoint.metric_no_capacity_invocation_failures(period=ALARM_PERIOD))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations and model errors",
                width=8,
                left=[
                    endpoint.metric_invocations(period=ALARM_PERIOD),
                    endpoint.metric_invocation4xx_errors(period=ALARM_PERIOD),
                    endpoint.metric_invocation5xx_errors(period=ALARM_PERIOD),
                ],
            ),
            cloudwatch.GraphWidget(title="Model latency (ms)", width=8, left=latency),
            cloudwatch.GraphWidget(
                title="Instances reporting, GPU use",
                width=8,
                left=capacity,
                right=[
                    endpoint.metric_gpu_utilization(label="GPUUtilization", period=ALARM_PERIOD),
                    endpoint.metric_gpu_memory_utilization(label="GPUMemoryUtilization", period=ALARM_PERIOD),
                ],
                right_y_axis=cloudwatch.YAxisProps(min=0, label="%", show_units=False),
            ),
        )
        if proxy is not None:
            function = proxy.function
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Proxy duration (ms)",
                    width=6,
                    left=[
                        function.metric_duration(statistic="p50", label="p50", period=ALARM_PERIOD),
                        function.metric_duration(statistic="p99", label="p99", period=ALARM_PERIOD),
                    ],
                    left_annotations=[
                        cloudwatch.HorizontalAnnotation(
                            value=function.timeout.to_milliseconds() if function.timeout else 3000,
                            label="timeout",
                        )
                    ],
                ),
                cloudwatch.GraphWidget(
                    title="Proxy errors and throttles",
                    width=6,
                    left=[
                        function.metric_errors(statistic="Sum", period=ALARM_PERIOD),
                        function.metric_throttles(statistic="Sum", period=ALARM_PERIOD),
                    ],
                ),
                cloudwatch.GraphWidget(
                    title="Proxy answers by status",
                    width=6,
                    left=[
                        *(
                            proxy.metric_requests(status_class=c, label=c, period=ALARM_PERIOD)
                            for c in emf.STATUS_CLASSES
                        ),
                        proxy.metric_model_scaling_up(label="503 model_scaling_up", period=ALARM_PERIOD),
                    ],
                    right=[
                        function.metric(
                            "ConcurrentExecutions",
                            statistic="Maximum",
                            label="concurrency",
                            period=ALARM_PERIOD,
                        )
                    ],
                ),
                cloudwatch.GraphWidget(
                    title="Tokens per request",
                    width=6,
                    left=[
                        proxy.metric_generated_tokens(
                            statistic="Average", label="generated (avg)", period=ALARM_PERIOD
                        ),
                        proxy.metric_input_tokens(
                            statistic="Average", label="input (avg)", period=ALARM_PERIOD
                        ),
                    ],
                ),
            )
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Tokens per second per request",
                    width=8,
                    left=[
                        proxy.metric_tokens_per_second(label="p50", period=ALARM_PERIOD),
                        proxy.metric_tokens_per_second(
                            statistic="p10", label="p10 (slowest)", period=ALARM_PERIOD
                        ),
                    ],
                ),
                cloudwatch.GraphWidget(
                    title="Time to first token (ms, streamed)",
                    width=8,
                    left=[
                        proxy.metric_time_to_first_token(label="p50", period=ALARM_PERIOD),
                        proxy.metric_time_to_first_token(statistic="p90", label="p90", period=ALARM_PERIOD),
                    ],
                ),
                cloudwatch.GraphWidget(
                    title="Proxy request latency (ms)",
                    width=8,
                    left=[
                        proxy.metric_request_latency(label="p50", period=ALARM_PERIOD),
                        proxy.metric_request_latency(statistic="p90", label="p90", period=ALARM_PERIOD),
                    ],
                ),
            )
        if self.alarms:
            dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", width=24, height=4, alarms=list(self.alarms.values())
                )
            )
        return dashboard


#: The alarms an endpoint update rolls back on (SageMaker's AutoRollbackConfiguration).
ROLLBACK_ALARMS = ("Invocation5XXErrors", "MsPerTokenP90")


def name_prefix(scope: Construct) -> str:
    """The stack's name and the ids of ``scope`` and its parents below the stack, joined by ``-``: what the
    dashboard and every alarm of a MistralMonitoring in ``scope`` are named after."""
    stack = Stack.of(scope)
    scopes = scope.node.scopes
    below_stack = [s.node.id for s in scopes[scopes.index(stack) + 1 :]]
    stack_name = stack.stack_name if not Token.is_unresolved(stack.stack_name) else stack.node.id
    return re.sub(r"[^A-Za-z0-9_-]", "-", "-".join([stack_name, *below_stack]))[:200]


def rollback_alarm_references(
    scope: Construct, *, alarm_settings: Mapping[str, AlarmSettings | None] | None = None
) -> list[cloudwatch.IAlarm]:
    """The Invocation5XXErrors and MsPerTokenP90 alarms a MistralMonitoring created in ``scope`` (with the
    same ``alarm_settings``) will have, referenced by name: for ``MistralModelEndpoint(rollback_alarms=...)``,
    which is built before the alarms that watch it. MistralMonitoring makes the endpoint depend on them, so
    CloudFormation creates the alarms first."""
    settings = _resolve_settings(alarm_settings)
    prefix = name_prefix(scope)
    return [
        cloudwatch.Alarm.from_alarm_name(scope, f"RollbackAlarm{name}", f"{prefix}-{name}")
        for name in ROLLBACK_ALARMS
        if settings[name] is not None
    ]


def _resolve_settings(given: Mapping[str, AlarmSettings | None] | None) -> dict[str, AlarmSettings | None]:
    settings: dict[str, AlarmSettings | None] = {
        name: AlarmSettings(*value) for name, value in DEFAULTS.alarms.items()
    }
    for name, setting in (given or {}).items():
        if name not in settings:
            raise ConfigurationError(
                f"alarm_settings names an alarm {name!r} this construct does not have: use one of {', '.join(settings)}"
            )
        if setting is not None:
            threshold, periods = setting
            if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= 1440:
                raise ConfigurationError(
                    f"alarm_settings[{name!r}].evaluation_periods must be a whole number of minutes from 1 to 1440, "
                    f"got {periods!r}"
                )
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
                raise ConfigurationError(
                    f"alarm_settings[{name!r}].threshold must be a number of at least 0, got {threshold!r}"
                )
            setting = AlarmSettings(threshold, periods)
        settings[name] = setting
    return settings


def _check_dashboard_name(name: str) -> str:
    if not Token.is_unresolved(name) and not _DASHBOARD_NAME.match(name):
        raise ConfigurationError(
            f"dashboard_name {name!r} is not a valid CloudWatch dashboard name: 1-255 letters, digits, '-' and '_'"
        )
    return name
