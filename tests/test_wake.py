"""A wake from zero starts one copy, however long it takes: a simulation of Application Auto Scaling.

There is no AWS account here, and moto runs no alarms or step policies, so this test replays a wake minute by
minute against the synthesized alarm and step policy, with the semantics the Application Auto Scaling user guide
states ("Step scaling policies for Application Auto Scaling"):

- CloudWatch evaluates the alarm once a period; while it is in ALARM, Application Auto Scaling runs the policy at
  each evaluation, not only on the transition;
- a step policy's cooldown: a scale-out started during the cooldown of an earlier one counts the capacity the
  earlier one added, so "+1" asked again within the cooldown adds nothing; once the cooldown is over it adds
  another copy;
- ``ExactCapacity`` sets the desired count to the adjustment; ``ChangeInCapacity`` adds it to the desired count.

Callers retry every 60 s (mistral-invoke's Retry-After), so NoCapacityInvocationFailures is published every minute
until the first copy serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from synth_helpers import only, resources_of, template_of

MINUTE = 60


@dataclass(frozen=True)
class WakeRules:
    """The synthesized wake alarm and step policy, as the simulation needs them."""

    adjustment_type: str
    adjustment: int
    cooldown_s: int
    period_s: int
    evaluation_periods: int
    threshold: float
    max_capacity: int

    @classmethod
    def of(cls, template: dict[str, Any]) -> WakeRules:
        ((policy_id, policy),) = (
            (key, p["Properties"])
            for key, p in resources_of(template, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
            if p["Properties"]["PolicyType"] == "StepScaling"
        )
        # The wake alarm is the one whose action is the step policy (the monitoring watches the same metric).
        (alarm,) = (
            a["Properties"]
            for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
            if {"Ref": policy_id} in a["Properties"].get("AlarmActions", [])
        )
        config = policy["StepScalingPolicyConfiguration"]
        (step,) = config["StepAdjustments"]
        target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
        return cls(
            adjustment_type=config["AdjustmentType"],
            adjustment=step["ScalingAdjustment"],
            cooldown_s=config.get("Cooldown", 0),
            period_s=alarm["Period"],
            evaluation_periods=alarm["EvaluationPeriods"],
            threshold=alarm["Threshold"],
            max_capacity=target["MaxCapacity"],
        )


def copies_asked_for(rules: WakeRules, *, wake_minutes: int, callers: int = 3, minutes: int = 40) -> int:
    """The most copies the scalable target's desired count reaches during one wake of ``wake_minutes``."""
    desired, peak = 0, 0
    breaching: list[bool] = []
    last_scale_out_at: int | None = None
    capacity_before_cooldown = 0
    first_asked_at: int | None = None
    for now in range(0, minutes * MINUTE, rules.period_s):
        # Requests find no capacity until the wake's length after the first copy was asked for.
        serving = first_asked_at is not None and now >= first_asked_at + wake_minutes * MINUTE
        failures = 0 if serving else callers
        breaching.append(failures >= rules.threshold)
        in_alarm = len(breaching) >= rules.evaluation_periods and all(breaching[-rules.evaluation_periods :])
        if not in_alarm:
            continue
        in_cooldown = last_scale_out_at is not None and now < last_scale_out_at + rules.cooldown_s
        base = capacity_before_cooldown if in_cooldown else desired
        if rules.adjustment_type == "ExactCapacity":
            wanted = rules.adjustment
        elif rules.adjustment_type == "ChangeInCapacity":
            wanted = base + rules.adjustment
        else:  # pragma: no cover - the stack uses one of the two
            raise AssertionError(rules.adjustment_type)
        wanted = min(wanted, rules.max_capacity)
        if wanted > desired:
            if not in_cooldown:
                capacity_before_cooldown = desired
                last_scale_out_at = now
            if first_asked_at is None:
                first_asked_at = now
            desired = wanted
        peak = max(peak, desired)
    return peak


@pytest.mark.parametrize("variant", ["scale_to_zero", "business_hours"])
@pytest.mark.parametrize("wake_minutes", [1, 5, 10, 20])
def test_one_wake_of_any_length_asks_for_one_copy(variant: str, wake_minutes: int) -> None:
    rules = WakeRules.of(template_of(variant))
    assert copies_asked_for(rules, wake_minutes=wake_minutes) == 1


def test_the_simulation_sees_the_runaway_an_increment_policy_would_cause() -> None:
    """The simulation can fail: '+1 copy a minute' through a 10-minute wake reaches max_capacity."""
    rules = WakeRules(
        adjustment_type="ChangeInCapacity",
        adjustment=1,
        cooldown_s=60,
        period_s=60,
        evaluation_periods=1,
        threshold=1,
        max_capacity=4,
    )
    assert copies_asked_for(rules, wake_minutes=10) == 4


def test_a_surge_after_the_wake_still_scales_out_through_target_tracking() -> None:
    template = template_of("scale_to_zero")
    tracking = [
        p["Properties"]
        for p in resources_of(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["PolicyType"] == "TargetTrackingScaling"
    ]
    (policy,) = tracking
    metric = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert (
        metric["PredefinedMetricType"] == "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    )
    assert only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]["MaxCapacity"] > 1
