"""Capacity: Application Auto Scaling on concurrency, scale-out from zero, and business-hours schedules.

Two hosting modes scale differently (AWS docs, "Automatic scaling of Amazon SageMaker AI models" and
"Scale an endpoint to zero instances"):

- an endpoint variant (the default) scales its instance count (``sagemaker:variant:DesiredInstanceCount``) by
  target tracking on ``SageMakerVariantConcurrentRequestsPerModelHighResolution``; a variant never goes below
  one instance;
- an inference component (``scale_to_zero``) scales its copy count
  (``sagemaker:inference-component:DesiredCopyCount``) by target tracking on
  ``SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution`` down to zero copies, and SageMaker's
  managed instance scaling releases the instances the copies no longer use. Target tracking cannot wake a
  component that has no copy (no copy, no concurrency metric), so a step scaling policy adds one copy when the
  ``NoCapacityInvocationFailures`` alarm sees a request that found no capacity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from constructs import Construct, IDependable

from ._validation import ConfigurationError, require_int
from .defaults import DEFAULTS

_DAYS = re.compile(
    r"^(MON|TUE|WED|THU|FRI|SAT|SUN)(-(MON|TUE|WED|THU|FRI|SAT|SUN))?(,(MON|TUE|WED|THU|FRI|SAT|SUN))*$"
)


#: Copies a wake from zero asks for (an exact count, not an increment: see EndpointScaling).
WAKE_COPIES = 1


@dataclass(frozen=True)
class ScalingSchedule:
    """Keep capacity warm inside a weekly window, in a named time zone; allow the floor outside it.

    Inside the window autoscaling keeps at least ``min_capacity`` instances (or copies); outside it, the
    endpoint's own floor applies (zero copies in scale-to-zero mode, ``min_capacity`` of the endpoint otherwise).
    """

    #: An IANA time zone name, e.g. ``Europe/Paris``; the window follows its daylight-saving changes.
    time_zone: str
    #: Hour (0-23) the window opens.
    start_hour: int
    #: Hour (1-23) the window closes, on the same day.
    end_hour: int
    #: Days of the week, as cron spells them: ``MON-FRI``, ``MON,WED,FRI``, ...
    week_days: str = "MON-FRI"
    #: Instances (or copies) kept warm inside the window.
    min_capacity: int = 1

    @classmethod
    def business_hours(
        cls,
        time_zone: str,
        *,
        start_hour: int = 8,
        end_hour: int = 19,
        week_days: str = "MON-FRI",
        min_capacity: int = 1,
    ) -> ScalingSchedule:
        """Warm from ``start_hour`` to ``end_hour`` on ``week_days`` in ``time_zone`` (default 08:00-19:00, Mon-Fri)."""
        return cls(time_zone, start_hour, end_hour, week_days, min_capacity)

    def check(self) -> None:
        if not is_iana_time_zone(self.time_zone):
            raise ConfigurationError(
                f"schedule time_zone {self.time_zone!r} is not an IANA time zone name such as 'Europe/Paris' "
                "(Application Auto Scaling takes IANA names for scheduled actions)",
                prop="schedule",
            )
        require_int("schedule start_hour", self.start_hour, minimum=0, maximum=23)
        require_int("schedule end_hour", self.end_hour, minimum=1, maximum=23)
        if self.end_hour <= self.start_hour:
            raise ConfigurationError(
                f"schedule end_hour ({self.end_hour}) must be after start_hour ({self.start_hour}): a window "
                "runs within one day"
            )
        if not _DAYS.match(self.week_days):
            raise ConfigurationError(
                f"schedule week_days {self.week_days!r}: use cron day names, e.g. 'MON-FRI' or 'MON,WED,FRI'"
            )
        require_int("schedule min_capacity", self.min_capacity, minimum=1)


@dataclass(frozen=True)
class ScalingTarget:
    """What is scaled: an endpoint variant's instances or an inference component's copies."""

    resource_id: str
    scalable_dimension: str
    predefined_metric: appscaling.PredefinedMetric

    @classmethod
    def variant(cls, endpoint_name: str, variant_name: str) -> ScalingTarget:
        return cls(
            f"endpoint/{endpoint_name}/variant/{variant_name}",
            "sagemaker:variant:DesiredInstanceCount",
            appscaling.PredefinedMetric.SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION,
        )

    @classmethod
    def inference_component(cls, component_name: str) -> ScalingTarget:
        return cls(
            f"inference-component/{component_name}",
            "sagemaker:inference-component:DesiredCopyCount",
            appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION,
        )


class EndpointScaling(Construct):
    """Target tracking on concurrency for a variant or an inference component, plus wake-up and schedules.

    Created by :class:`~mistral_endpoint.MistralModelEndpoint`; its attributes are there for your own alarms and
    policies.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        target: ScalingTarget,
        min_capacity: int,
        max_capacity: int,
        target_concurrent_requests: int,
        scale_out_cooldown: Duration,
        scale_in_cooldown: Duration,
        no_capacity_metric: cloudwatch.IMetric | None,
        schedule: ScalingSchedule | None,
        depends_on: IDependable,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        #: The Application Auto Scaling target (service-linked role: SageMaker endpoint scaling).
        self.scalable_target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            role=iam.Role.from_role_arn(
                self,
                "ServiceLinkedRole",
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name="aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                ),
                mutable=False,
            ),
        )
        # The resource id names the endpoint, which CloudFormation cannot see: register after the endpoint
        # (and the component) exist, deregister before they are deleted.
        self.scalable_target.node.add_dependency(depends_on)
        #: Target tracking on the high-resolution concurrency metric.
        self.concurrency_policy = self.scalable_target.scale_to_track_metric(
            "Concurrency",
            target_value=target_concurrent_requests,
            predefined_metric=target.predefined_metric,
            scale_out_cooldown=scale_out_cooldown,
            scale_in_cooldown=scale_in_cooldown,
        )
        #: Scale-to-zero mode: the alarm that wakes the component and the step policy it triggers.
        self.wake_alarm: cloudwatch.Alarm | None = None
        self.wake_policy: appscaling.StepScalingAction | None = None
        if no_capacity_metric is not None:
            self._wake_on(no_capacity_metric)
        if schedule is not None:
            self._schedule(schedule, floor=min_capacity, max_capacity=max_capacity)

    def _wake_on(self, no_capacity_metric: cloudwatch.IMetric) -> None:
        # One wake, one copy. NoCapacityInvocationFailures goes on while the first copy's instance starts
        # (5-10 minutes), so the alarm stays in ALARM and Application Auto Scaling runs the policy again
        # at every evaluation once its cooldown is over (Application Auto Scaling guide, "Step scaling
        # policies"). "+1 copy" would then add a copy a minute, up to max_capacity instances for one
        # wake. ExactCapacity 1 asks for one copy however often it runs; more copies are target
        # tracking's business once the first one serves and publishes concurrency.
        self.wake_policy = appscaling.StepScalingAction(
            self,
            "WakeFromZero",
            scaling_target=self.scalable_target,
            adjustment_type=appscaling.AdjustmentType.EXACT_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
            cooldown=Duration.minutes(1),
        )
        self.wake_policy.add_adjustment(adjustment=WAKE_COPIES, lower_bound=0)
        self.wake_alarm = cloudwatch.Alarm(
            self,
            "NoCapacityAlarm",
            alarm_description="A request found no copy of the model: ask for one (scale out from zero)",
            metric=no_capacity_metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            # No failures are published while requests find capacity: missing data is the healthy case.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.wake_alarm.add_alarm_action(cloudwatch_actions.ApplicationScalingAction(self.wake_policy))

    def _schedule(self, schedule: ScalingSchedule, *, floor: int, max_capacity: int) -> None:
        schedule.check()
        if schedule.min_capacity <= floor:
            raise ConfigurationError(
                f"schedule min_capacity ({schedule.min_capacity}) must be above the endpoint's floor ({floor}), or "
                "the schedule changes nothing: raise it, or use scale_to_zero to let the endpoint reach zero"
            )
        if schedule.min_capacity > max_capacity:
            raise ConfigurationError(
                f"schedule min_capacity ({schedule.min_capacity}) exceeds max_capacity ({max_capacity})"
            )
        time_zone = TimeZone.of(schedule.time_zone)
        self.scalable_target.scale_on_schedule(
            "WarmUp",
            schedule=appscaling.Schedule.cron(
                minute="0", hour=str(schedule.start_hour), week_day=schedule.week_days
            ),
            time_zone=time_zone,
            min_capacity=schedule.min_capacity,
            max_capacity=max_capacity,
        )
        self.scalable_target.scale_on_schedule(
            "CoolDown",
            schedule=appscaling.Schedule.cron(
                minute="0", hour=str(schedule.end_hour), week_day=schedule.week_days
            ),
            time_zone=time_zone,
            min_capacity=floor,
            max_capacity=max_capacity,
        )


def is_iana_time_zone(name: str) -> bool:
    """Whether the IANA time zone database (the standard library's zoneinfo) knows ``name``.

    Where no database is installed (no system zoneinfo, no ``tzdata`` package), any well-formed name passes:
    the check cannot be made, and a refusal would be wrong.
    """
    if not isinstance(name, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$", name):
        return False
    if name in _known_time_zones():
        return True
    return not _known_time_zones()


@cache
def _known_time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def target_concurrency(target: int | None, max_concurrent_requests: int | None) -> int:
    if target is not None:
        require_int("target_concurrent_requests", target, minimum=1)
        if max_concurrent_requests is not None and target > max_concurrent_requests:
            raise ConfigurationError(
                f"target_concurrent_requests ({target}) is above max_concurrent_requests ({max_concurrent_requests}): "
                "TGI refuses (429) what is beyond max_concurrent_requests, so concurrency never reaches the target "
                "and autoscaling never scales out; keep the target at most half of max_concurrent_requests",
                prop="target_concurrent_requests",
            )
        return target
    if max_concurrent_requests is None:
        return DEFAULTS.target_concurrent_requests
    return max(1, min(DEFAULTS.target_concurrent_requests, max_concurrent_requests // 2))
