"""Updates that roll back on their own: the endpoint's blue/green deployment and the inference component's
rolling update, each baked and watched by alarms (AWS docs, "Deployment guardrails for updating models in
production")."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker

from .defaults import DEFAULTS


def blue_green_update(
    baking: int, alarms: Sequence[cloudwatch.IAlarm], *, canary: bool
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
    """Blue/green: the new fleet comes up beside the old one, takes traffic, bakes, then the old one goes.

    A canary must be at most half of the new fleet, so it needs two instances: with one, all traffic shifts
    at once and the baking period (with the alarms) still decides between keeping and rolling back.
    """
    routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type="CANARY" if canary else "ALL_AT_ONCE",
        wait_interval_in_seconds=baking,
        canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=1)
        if canary
        else None,
    )
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing,
            termination_wait_in_seconds=DEFAULTS.deployment_termination_wait_seconds,
            # Room for a new fleet to download 14 GB and load it (up to 15 + 15 minutes), plus baking.
            maximum_execution_timeout_in_seconds=3600 + baking,
        ),
        auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name) for a in alarms]
        )
        if alarms
        else None,
    )


def rolling_update(
    baking: int, alarms: Sequence[cloudwatch.IAlarm]
) -> sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty:
    """A component's update: one copy at a time, baked, rolled back one copy at a time on an alarm."""
    one_copy = sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty(
        type="COPY_COUNT", value=1
    )
    return sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty(
        rolling_update_policy=sagemaker.CfnInferenceComponent.InferenceComponentRollingUpdatePolicyProperty(
            maximum_batch_size=one_copy,
            wait_interval_in_seconds=baking,
            maximum_execution_timeout_in_seconds=3600 + baking,
            rollback_maximum_batch_size=one_copy,
        ),
        auto_rollback_configuration=sagemaker.CfnInferenceComponent.AutoRollbackConfigurationProperty(
            alarms=[sagemaker.CfnInferenceComponent.AlarmProperty(alarm_name=a.alarm_name) for a in alarms]
        )
        if alarms
        else None,
    )
