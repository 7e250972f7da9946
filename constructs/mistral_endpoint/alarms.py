"""The alarms, as data: one :class:`AlarmSpec` per alarm, and the :class:`AlarmPlan` that names and tunes them.

Every alarm is evaluated on one-minute periods; its threshold is in the unit the README's Operations table gives
(the spec's ``scale`` turns it into the metric's unit). Which alarms apply depends on the hosting mode (``modes``)
and on whether a proxy is watched (``needs_proxy``); nothing here asks which mode is in force.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, NamedTuple

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, DependencyGroup

from ._lambda import metrics as emf
from ._validation import ConfigurationError
from .defaults import DEFAULTS
from .endpoint_metrics import EndpointMetrics
from .hosting_modes import INFERENCE_COMPONENT, INSTANCE_VARIANT

if TYPE_CHECKING:  # types only
    from .private_api import PrivateApi
    from .proxy import InvokeProxy


@cache
def alarm_period() -> Duration:
    """Every alarm is evaluated on one-minute periods (SageMaker's and Lambda's metrics are per minute).

    A function, not a module constant: a Duration is made in aws-cdk-lib's Node process, and importing the
    project must not call it (stacks/app_process.py builds CDK's validation engine meanwhile)."""
    return Duration.minutes(1)


def __getattr__(name: str) -> object:
    """`ALARM_PERIOD`, for code written against earlier releases: made on first use (PEP 562)."""
    if name == "ALARM_PERIOD":
        return alarm_period()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


ALL_MODES = frozenset({INSTANCE_VARIANT, INFERENCE_COMPONENT})

_GREATER = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_LESS = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
_QUIET = cloudwatch.TreatMissingData.NOT_BREACHING
_SILENCE_IS_AN_OUTAGE = cloudwatch.TreatMissingData.BREACHING


class AlarmSettings(NamedTuple):
    """One alarm's threshold (in the unit the README's Operations table gives) and evaluation periods."""

    threshold: float
    evaluation_periods: int


@dataclass(frozen=True)
class Watched:
    """What an alarm's metric is read from."""

    endpoint: EndpointMetrics
    #: The invoke proxy (alarms with ``needs_proxy`` are left out without one).
    proxy: InvokeProxy | None
    #: GPUs per instance: SageMaker sums GPU memory utilization over them.
    gpus: int
    #: The private front door (alarms with ``needs_private_api`` are left out without one).
    private_api: PrivateApi | None = None

    @cached_property
    def function_timeout_ms(self) -> float:
        # Read once, not once per spec that asks: each read is three round trips to jsii's Node process.
        function = self._proxy.function
        return function.timeout.to_milliseconds() if function.timeout else 3000

    @property
    def api(self) -> PrivateApi:
        assert self.private_api is not None  # specs that read the private API need one
        return self.private_api

    @property
    def _proxy(self) -> InvokeProxy:
        assert self.proxy is not None  # specs that read the proxy need one
        return self.proxy


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it reads, when it fires, and where it applies."""

    name: str
    #: The metric (or math expression), given what is watched and the spec's ``statistic``.
    metric: Callable[[Watched, str], cloudwatch.IMetric]
    #: The statistic over each one-minute period (``expression`` for a math expression of sums).
    statistic: str
    comparison: cloudwatch.ComparisonOperator
    #: What the alarm describes; ``{threshold:g}``, ``{periods}`` and ``{timeout_s:g}`` are filled in.
    description: str
    #: How the configured threshold becomes the metric's unit (seconds to microseconds, per GPU to the sum...).
    scale: Callable[[float, Watched], float] = lambda threshold, _: threshold
    missing_data: cloudwatch.TreatMissingData = _QUIET
    #: The hosting modes it applies to.
    modes: frozenset[str] = ALL_MODES
    #: Whether it reads the proxy (left out when no proxy is watched).
    needs_proxy: bool = False
    #: Whether an endpoint update rolls back on it (SageMaker's AutoRollbackConfiguration).
    rolls_back_updates: bool = False
    #: Whether it reads the private API (left out without one).
    needs_private_api: bool = False

    def applies(self, watched: Watched) -> bool:
        return (
            watched.endpoint.hosting_mode.key in self.modes
            and (watched.proxy is not None or not self.needs_proxy)
            and (watched.private_api is not None or not self.needs_private_api)
        )

    def describe(self, setting: AlarmSettings, watched: Watched) -> str:
        timeout_s = watched.function_timeout_ms / 1000 if self.needs_proxy else 0
        if self.needs_private_api:
            timeout_s = watched.api.integration_timeout.to_seconds()
        return self.description.format(
            threshold=setting.threshold, periods=setting.evaluation_periods, timeout_s=timeout_s
        )


def _endpoint(method: Callable[..., cloudwatch.Metric]) -> Callable[[Watched, str], cloudwatch.IMetric]:
    """One of the endpoint's ``metric_*`` methods, over one-minute periods."""
    return lambda w, statistic: method(w.endpoint, statistic=statistic, period=alarm_period())


def _function(method: Callable[..., cloudwatch.Metric]) -> Callable[[Watched, str], cloudwatch.IMetric]:
    """One of the proxy function's ``metric_*`` methods, over one-minute periods."""
    return lambda w, statistic: method(w._proxy.function, statistic=statistic, period=alarm_period())


def _model_4xx_rate(w: Watched, _: str) -> cloudwatch.IMetric:
    using: dict[str, cloudwatch.IMetric] = {
        "errors": w.endpoint.metric_invocation4xx_errors(period=alarm_period()),
        "invocations": w.endpoint.metric_invocations(period=alarm_period()),
    }
    errors = "FILL(errors, 0)"
    # A wake from zero refuses requests for minutes: that is WakeUpNotCompleting's business.
    refusals = w.endpoint.wake_refusals(period=alarm_period())
    if refusals is not None:
        using["nocapacity"] = refusals
        errors = "(FILL(errors, 0) - FILL(nocapacity, 0))"
    return cloudwatch.MathExpression(
        expression=f"IF(invocations > 0, 100 * {errors} / invocations, 0)",
        using_metrics=using,
        label="Invocation4XXErrors (% of invocations)",
        period=alarm_period(),
    )


def _proxy_5xx_rate(w: Watched, _: str) -> cloudwatch.IMetric:
    total = "(FILL(r2, 0) + FILL(r4, 0) + FILL(r5, 0))"
    return cloudwatch.MathExpression(
        expression=f"IF({total} > 0, 100 * (FILL(r5, 0) - FILL(wake, 0)) / {total}, 0)",
        using_metrics={
            **{
                f"r{c[0]}": w._proxy.metric_requests(status_class=c, period=alarm_period())
                for c in emf.STATUS_CLASSES
            },
            "wake": w._proxy.metric_model_scaling_up(period=alarm_period()),
        },
        label="proxy 5xx (% of requests, wake-ups excluded)",
        period=alarm_period(),
    )


def _api_5xx_rate(w: Watched, _: str) -> cloudwatch.IMetric:
    """The private API's 5XXError share of its requests (API Gateway's own metrics, the stage's), without the
    proxy's 503 model_scaling_up answers of a wake from zero. The proxy counts wake-ups for both doors together:
    with ``front_door="both"`` a wake through the function URL is subtracted here too, so the difference is held
    at zero or more, and the rate can read low while a scaled-to-zero model wakes (docs/operate/private-door.md)."""
    stage = w.api.stage
    errors = "(FILL(errors, 0) - FILL(wake, 0))"
    return cloudwatch.MathExpression(
        expression=f"IF(FILL(requests, 0) > 0, IF({errors} > 0, 100 * {errors} / requests, 0), 0)",
        using_metrics={
            "errors": stage.metric_server_error(statistic="Sum", period=alarm_period()),
            "requests": stage.metric_count(statistic="Sum", period=alarm_period()),
            "wake": w._proxy.metric_model_scaling_up(period=alarm_period()),
        },
        label="private API 5xx (% of requests, wake-ups excluded)",
        period=alarm_period(),
    )


#: Every alarm MistralMonitoring can create, in the order it creates them (``DEFAULTS.alarms`` tunes each).
ALARM_SPECS: tuple[AlarmSpec, ...] = (
    AlarmSpec(
        "ModelLatencyP90",
        _endpoint(EndpointMetrics.metric_model_latency),
        "p90",
        _GREATER,
        "ModelLatency p90 above {threshold:g} s (SageMaker cuts the container off at 60 s)",
        scale=lambda seconds, _: seconds * 1_000_000,  # ModelLatency is in microseconds
    ),
    AlarmSpec(
        "Invocation5XXErrors",
        _endpoint(EndpointMetrics.metric_invocation5xx_errors),
        "Sum",
        _AT_LEAST,
        "at least {threshold:g} model 5xx a minute",
        rolls_back_updates=True,
    ),
    AlarmSpec(
        "Invocation4XXErrorRate",
        _model_4xx_rate,
        "expression",
        _GREATER,
        "more than {threshold:g}% of invocations answered 4xx by the model (TGI overloaded, or prompts longer "
        "than MAX_INPUT_LENGTH tokens)",
    ),
    AlarmSpec(
        "GPUMemoryUtilization",
        _endpoint(EndpointMetrics.metric_gpu_memory_utilization),
        "Maximum",
        _GREATER,
        "GPU memory above {threshold:g}% per GPU",
        scale=lambda percent, w: percent * w.gpus,  # SageMaker sums the percentages over the instance's GPUs
    ),
    AlarmSpec(
        # Silence from the GPUs of an always-on endpoint is the symptom; a model scaled to zero is silent too.
        "NoHealthyCapacity",
        _endpoint(EndpointMetrics.metric_gpu_memory_utilization),
        "Maximum",
        _LESS,
        "no GPU holds the model (memory below {threshold:g}%, or no instance reporting)",
        missing_data=_SILENCE_IS_AN_OUTAGE,
        modes=frozenset({INSTANCE_VARIANT}),
    ),
    AlarmSpec(
        "WakeUpNotCompleting",
        _endpoint(EndpointMetrics.metric_no_capacity_invocation_failures),
        "Sum",
        _AT_LEAST,
        "requests refused for lack of capacity for {periods} minutes in a row: longer than a wake from zero "
        "takes",
        modes=frozenset({INFERENCE_COMPONENT}),
    ),
    AlarmSpec(
        "ProxyErrors",
        _function(lambda_.Function.metric_errors),
        "Sum",
        _AT_LEAST,
        "the proxy function failed (timeout, crash or init error)",
        needs_proxy=True,
    ),
    AlarmSpec(
        "ProxyThrottles",
        _function(lambda_.Function.metric_throttles),
        "Sum",
        _AT_LEAST,
        "Lambda refused proxy invocations (concurrency limit)",
        needs_proxy=True,
    ),
    AlarmSpec(
        "ProxyDurationP99",
        _function(lambda_.Function.metric_duration),
        "p99",
        _GREATER,
        "proxy Duration p99 above {threshold:g}% of its {timeout_s:g} s timeout",
        scale=lambda percent, w: w.function_timeout_ms * percent / 100,
        needs_proxy=True,
    ),
    AlarmSpec(
        "ProxyServerErrorRate",
        _proxy_5xx_rate,
        "expression",
        _GREATER,
        "more than {threshold:g}% of the proxy's answers were 5xx (503 model_scaling_up excluded)",
        needs_proxy=True,
    ),
    AlarmSpec(
        # The update's latency signal. Whether ModelLatency covers a whole InvokeEndpointWithResponseStream
        # answer is not documented (its definition, "the time taken to complete the inference in the
        # container", fits either reading), and a healthy streamed answer of 2,000 tokens takes over a
        # minute: a p90 on ModelLatency could roll back a healthy model. Time per generated token does not
        # grow with the answer's length.
        "MsPerTokenP90",
        lambda w, statistic: w._proxy.metric_ms_per_token(statistic=statistic, period=alarm_period()),
        "p90",
        _GREATER,
        "model time per generated token p90 above {threshold:g} ms (the article's slowest healthy p50 is 213 ms, "
        "at 128 concurrent users)",
        needs_proxy=True,
        rolls_back_updates=True,
    ),
    AlarmSpec(
        # API Gateway's own 5xx: the proxy's, and those it never sees (Lambda throttles or errors as 500/502,
        # integration timeouts as 504).
        "PrivateApiServerErrorRate",
        _api_5xx_rate,
        "expression",
        _GREATER,
        "more than {threshold:g}% of the private API's answers were 5xx (503 model_scaling_up excluded)",
        needs_proxy=True,
        needs_private_api=True,
    ),
    AlarmSpec(
        # Latency spans the whole answer (a stream's too): near the integration timeout, answers are cut off.
        "PrivateApiLatencyP90",
        lambda w, statistic: w.api.stage.metric_latency(statistic=statistic, period=alarm_period()),
        "p90",
        _GREATER,
        "private API Latency p90 above {threshold:g}% of its {timeout_s:g} s integration timeout",
        scale=lambda percent, w: w.api.integration_timeout.to_milliseconds() * percent / 100,
        needs_private_api=True,
    ),
)
SPECS_BY_NAME: Mapping[str, AlarmSpec] = {spec.name: spec for spec in ALARM_SPECS}
#: The alarms an endpoint update rolls back on (SageMaker's AutoRollbackConfiguration).
ROLLBACK_ALARMS = tuple(spec.name for spec in ALARM_SPECS if spec.rolls_back_updates)


class AlarmPlan:
    """The alarms of one MistralMonitoring, named and tuned before anything is built.

    The one place alarm names come from: the monitoring names its alarms with :meth:`alarm_name`, and an
    endpoint built before the monitoring takes :meth:`rollback_alarms`, referenced by those same names.
    CloudFormation must create an alarm before an endpoint whose update names it: wait on
    :attr:`rollback_alarms_made`, which holds the monitoring's rollback alarms once it has made them.
    """

    def __init__(
        self,
        scope: Construct,
        alarm_settings: Mapping[str, AlarmSettings | None] | None = None,
        *,
        watches_proxy: bool = True,
    ) -> None:
        """
        :param scope: where the MistralMonitoring will be created: its path names the alarms.
        :param alarm_settings: alarm name -> ``AlarmSettings(threshold, evaluation_periods)``, or None to leave
            that alarm out. Default: ``DEFAULTS.alarms`` for every alarm.
        :param watches_proxy: whether the monitoring will watch an invoke proxy (the alarms that read it exist
            only then). Default: true.
        """
        self.scope = scope
        self.watches_proxy = watches_proxy
        #: Alarm name -> its settings, or None when left out.
        self.settings = _resolve_settings(alarm_settings)
        #: What every alarm's (and the dashboard's) name starts with.
        self.prefix = name_prefix(scope)
        #: The rollback alarms the monitoring has made (empty until then, and without monitoring).
        self.rollback_alarms_made = DependencyGroup()

    def alarm_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def rollback_alarms(self, scope: Construct) -> list[cloudwatch.IAlarm]:
        """The rollback alarms this plan keeps, referenced by the names the monitoring will give them."""
        return [
            cloudwatch.Alarm.from_alarm_name(scope, f"RollbackAlarm{name}", self.alarm_name(name))
            for name in ROLLBACK_ALARMS
            if self.settings[name] is not None and (self.watches_proxy or not SPECS_BY_NAME[name].needs_proxy)
        ]

    def made(self, spec: AlarmSpec, alarm: cloudwatch.Alarm) -> None:
        """Record an alarm the monitoring made."""
        if spec.rolls_back_updates:
            self.rollback_alarms_made.add(alarm)


def name_prefix(scope: Construct) -> str:
    """The stack's name and the ids of ``scope`` and its parents below the stack, joined by ``-``: what the
    dashboard and every alarm of a MistralMonitoring in ``scope`` are named after."""
    stack = Stack.of(scope)
    scopes = scope.node.scopes
    below_stack = [s.node.id for s in scopes[scopes.index(stack) + 1 :]]
    stack_name = stack.stack_name if not Token.is_unresolved(stack.stack_name) else stack.node.id
    return re.sub(r"[^A-Za-z0-9_-]", "-", "-".join([stack_name, *below_stack]))[:200]


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
