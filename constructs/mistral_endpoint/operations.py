"""Operations: alarms on the endpoint and the proxy, their topic, and a dashboard (:class:`MistralMonitoring`).

The alarms themselves are data (:mod:`.alarms`); the dashboard is :mod:`.dashboard`; the proxy's token metrics
are :mod:`.token_metrics`.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from aws_cdk import Aws, Duration, RemovalPolicy, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from . import alarms
from ._validation import ConfigurationError
from .alarms import (
    ALARM_SPECS,
    ROLLBACK_ALARMS,
    SPECS_BY_NAME,
    AlarmPlan,
    AlarmSettings,
    AlarmSpec,
    Watched,
    name_prefix,
)
from .dashboard import build_dashboard
from .props import LogOptions, MonitoringOptions, part_of, split_flat_props
from .token_metrics import TokenMetrics

if TYPE_CHECKING:  # types only
    from .endpoint_metrics import EndpointMetrics
    from .private_api import PrivateApi
    from .proxy import InvokeProxy

# Re-exported: code written against earlier releases imports these from here.
__all__ = [
    "ALARM_SPECS",
    "ROLLBACK_ALARMS",
    "AlarmPlan",
    "AlarmSettings",
    "MistralMonitoring",
    "TokenMetrics",
    "name_prefix",
]


def __getattr__(name: str) -> object:
    """`ALARM_PERIOD`, re-exported as alarms makes it: on first use (PEP 562), so not in `__all__`."""
    if name == "ALARM_PERIOD":
        return alarms.alarm_period()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class MistralMonitoring(Construct):
    """Alarms on the endpoint and the invoke proxy, the topic they notify, and one dashboard.

    Every alarm is evaluated on one-minute periods and can be tuned or left out through ``alarm_settings``;
    each treats missing data on purpose: no traffic (or a model scaled to zero) is not an outage, except for
    ``NoHealthyCapacity``, where silence from the GPUs of an always-on endpoint is the symptom. The alarms are
    described in :data:`~mistral_endpoint.alarms.ALARM_SPECS`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint: EndpointMetrics,
        proxy: InvokeProxy | None = None,
        private_api: PrivateApi | None = None,
        monitoring_options: MonitoringOptions | None = None,
        plan: AlarmPlan | None = None,
        gpus_per_instance: int = 1,
        log_options: LogOptions | None = None,
        **flat_props: Any,
    ) -> None:
        """
        :param endpoint: the endpoint to watch: a ``MistralModelEndpoint`` or one imported with
            ``MistralModelEndpoint.from_endpoint_attributes``.
        :param proxy: the invoke proxy in front of it. Default: none (no proxy alarms or token graphs).
        :param private_api: the private front door in front of the proxy. Default: none (no API alarms).
        :param monitoring_options: the topic, an email, the alarms' settings, the dashboard's name
            (:class:`MonitoringOptions`; ``monitoring`` is MistralEndpoint's switch).
        :param plan: the alarms' names and settings, made before the endpoint when the endpoint's updates roll
            back on them (give ``alarm_settings`` to the plan then, not here). Default: a plan of
            ``alarm_settings`` in ``scope``.
        :param gpus_per_instance: GPUs per instance (SageMaker sums GPU memory utilization over them).
            Default: 1.
        :param log_options: its ``removal_policy`` applies to the new topic's KMS key (destroyed after a 7-day
            wait by default).
        :param flat_props: the fields of those parts as keywords, as in earlier releases (deprecated).
        """
        super().__init__(scope, id)
        flat = split_flat_props("MistralMonitoring", flat_props, (MonitoringOptions, LogOptions))
        options = part_of(MonitoringOptions, monitoring_options, flat)
        removal_policy = part_of(LogOptions, log_options, flat).removal_policy
        alarm_topic, alarm_email, dashboard_name = (
            options.alarm_topic,
            options.alarm_email,
            options.dashboard_name,
        )
        if plan is not None and options.alarm_settings is not None:
            raise ConfigurationError(
                "alarm_settings and plan both tune the alarms: give alarm_settings to the plan"
            )
        self.plan = plan or AlarmPlan(scope, options.alarm_settings, watches_proxy=proxy is not None)
        if self.plan.watches_proxy != (proxy is not None):
            raise ConfigurationError(
                f"the alarm plan was made with watches_proxy={self.plan.watches_proxy}, but "
                f"{'no proxy' if proxy is None else 'a proxy'} is given: make the plan as the monitoring watches"
            )
        self.endpoint = endpoint
        self.proxy = proxy
        #: The topic alarm and OK notifications go to.
        self.alarm_topic: sns.ITopic = alarm_topic or self._new_topic(removal_policy)
        if alarm_email is not None:
            if not Token.is_unresolved(alarm_email) and not _EMAIL.match(alarm_email):
                raise ConfigurationError(
                    f"alarm_email {alarm_email!r} is not an email address (name@example.com)"
                )
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        #: The dashboard's name.
        self.dashboard_name = _check_dashboard_name(dashboard_name or self.plan.prefix)
        watched = Watched(endpoint=endpoint, proxy=proxy, gpus=gpus_per_instance, private_api=private_api)
        #: Alarm name (``ModelLatencyP90``, ...) -> alarm; only the alarms that apply and are not left out.
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, setting in self.plan.settings.items():
            spec = SPECS_BY_NAME[name]
            if setting is not None and spec.applies(watched):
                self.alarms[name] = self._add_alarm(spec, setting, watched)
        #: The CloudWatch dashboard.
        self.dashboard = build_dashboard(
            self,
            dashboard_name=self.dashboard_name,
            endpoint=endpoint,
            proxy=proxy,
            alarms=list(self.alarms.values()),
        )

    def _add_alarm(self, spec: AlarmSpec, setting: AlarmSettings, watched: Watched) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            spec.name,
            alarm_name=self.plan.alarm_name(spec.name),
            alarm_description=f"{self.endpoint.endpoint_name}: {spec.describe(setting, watched)}",
            metric=spec.metric(watched, spec.statistic),
            threshold=spec.scale(setting.threshold, watched),
            comparison_operator=spec.comparison,
            evaluation_periods=setting.evaluation_periods,
            datapoints_to_alarm=setting.evaluation_periods,
            treat_missing_data=spec.missing_data,
        )
        action = self._topic_action
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        if spec.missing_data == cloudwatch.TreatMissingData.BREACHING:
            # CloudFormation finishes an endpoint once it is InService: before that, silence is not an outage.
            alarm.node.add_dependency(self.endpoint.in_service)
        self.plan.made(spec, alarm)
        return alarm

    @functools.cached_property
    def _topic_action(self) -> cloudwatch_actions.SnsAction:
        """One action for every alarm (it only names the topic): one object, not a round trip to jsii's Node
        process per alarm."""
        return cloudwatch_actions.SnsAction(self.alarm_topic)

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


def _check_dashboard_name(name: str) -> str:
    if not Token.is_unresolved(name) and not _DASHBOARD_NAME.match(name):
        raise ConfigurationError(
            f"dashboard_name {name!r} is not a valid CloudWatch dashboard name: 1-255 letters, digits, '-' and '_'"
        )
    return name
