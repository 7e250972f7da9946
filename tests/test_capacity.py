"""Capacity: autoscaling on concurrency, scale to zero with inference components, schedules, safe updates."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from synth_helpers import new_app, only, resources_of, template_of

from mistral_endpoint import ConfigurationError, MistralEndpoint, ScalingSchedule
from mistral_endpoint.hosting import GPUS_BY_INSTANCE_TYPE, component_memory_mb

SLR = (
    "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


@pytest.fixture(scope="module")
def zero() -> dict[str, Any]:
    """The stack with -c scaleToZero=true (compliance packs clean)."""
    return template_of("scale_to_zero")


def endpoint_name(template: dict[str, Any]) -> str:
    return only(template, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]  # type: ignore[no-any-return]


def synth(**props: Any) -> dict[str, Any]:
    """A MistralEndpoint with these props, synthesized without the packs (for targeted checks)."""
    app = new_app()
    stack = cdk.Stack(app, "Capacity")
    MistralEndpoint(stack, "Mistral", **props)
    return app.synth().get_stack_by_name("Capacity").template  # type: ignore[no-any-return]


# --- autoscaling of the default variant -------------------------------------------------------------------


def test_default_stack_scales_the_variant_between_one_and_two_instances(template: dict[str, Any]) -> None:
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["ResourceId"] == f"endpoint/{endpoint_name(template)}/variant/AllTraffic"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ServiceNamespace"] == "sagemaker"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)


def test_scaling_uses_application_auto_scalings_service_linked_role(template: dict[str, Any]) -> None:
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert json.dumps(target["RoleARN"]).endswith(f':{SLR}"]]}}')
    assert resources_of(template, "AWS::IAM::Role").keys().isdisjoint({"ScalingTargetRole"})


def test_target_tracking_follows_high_resolution_concurrency_per_instance(template: dict[str, Any]) -> None:
    policy = only(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    }
    assert tracking["TargetValue"] == 32
    assert tracking["ScaleOutCooldown"] < tracking["ScaleInCooldown"]
    assert (tracking["ScaleOutCooldown"], tracking["ScaleInCooldown"]) == (300, 900)


def test_scaling_is_registered_after_the_endpoint_exists(template: dict[str, Any]) -> None:
    (endpoint_id,) = resources_of(template, "AWS::SageMaker::Endpoint")
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert endpoint_id in target["DependsOn"]


def test_an_update_keeps_the_scaled_instance_count(template: dict[str, Any]) -> None:
    endpoint = only(template, "AWS::SageMaker::Endpoint")["Properties"]
    assert endpoint["RetainAllVariantProperties"] is True
    assert endpoint["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DataCaptureConfig"}]


def test_a_one_instance_floor_shifts_traffic_at_once_then_bakes(template: dict[str, Any]) -> None:
    policy = only(template, "AWS::SageMaker::Endpoint")["Properties"]["DeploymentConfig"][
        "BlueGreenUpdatePolicy"
    ]
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600}
    assert policy["TerminationWaitInSeconds"] == 300
    assert 600 <= policy["MaximumExecutionTimeoutInSeconds"] <= 14400


def test_a_two_instance_floor_updates_with_a_one_instance_canary() -> None:
    template = synth(min_capacity=2, initial_instance_count=2, max_capacity=4)
    routing = only(template, "AWS::SageMaker::Endpoint")["Properties"]["DeploymentConfig"][
        "BlueGreenUpdatePolicy"
    ]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 600,
    }


def test_rollback_alarms_reach_the_deployment_config() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Rollback")
    alarm = cloudwatch.Alarm(
        stack,
        "Latency",
        metric=cloudwatch.Metric(namespace="AWS/SageMaker", metric_name="ModelLatency"),
        threshold=1,
        evaluation_periods=1,
    )
    MistralEndpoint(stack, "Mistral", rollback_alarms=[alarm])
    template = app.synth().get_stack_by_name("Rollback").template
    rollback = only(template, "AWS::SageMaker::Endpoint")["Properties"]["DeploymentConfig"][
        "AutoRollbackConfiguration"
    ]
    alarm_id = stack.get_logical_id(alarm.node.default_child)  # type: ignore[arg-type]
    # Yours first, then the monitoring's 5xx and latency alarms (by name).
    assert rollback == {
        "Alarms": [
            {"AlarmName": {"Ref": alarm_id}},
            {"AlarmName": "Rollback-Mistral-Invocation5XXErrors"},
            {"AlarmName": "Rollback-Mistral-MsPerTokenP90"},
        ]
    }


def test_equal_min_and_max_turn_autoscaling_off() -> None:
    template = synth(min_capacity=1, max_capacity=1)
    assert resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget") == {}


def test_the_target_leaves_headroom_below_a_lower_max_concurrent_requests() -> None:
    template = synth(max_concurrent_requests=20)
    policy = only(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 10


def test_context_sets_the_instance_bounds() -> None:
    from app import build_app

    app = build_app(new_app(minCapacity="2", maxCapacity="3", initialInstanceCount="2", compliance="off"))
    template = app.synth().get_stack_by_name("MistralEndpointStack").template
    target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 3)


# --- scale to zero ----------------------------------------------------------------------------------------


def test_scale_to_zero_hosts_the_model_as_an_inference_component(zero: dict[str, Any]) -> None:
    component = only(zero, "AWS::SageMaker::InferenceComponent")["Properties"]
    (model_id,) = resources_of(zero, "AWS::SageMaker::Model")
    spec = component["Specification"]
    assert spec["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    assert spec["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": 1,
        "MinMemoryRequiredInMb": 1024,
    }
    assert spec["StartupParameters"] == {
        "ContainerStartupHealthCheckTimeoutInSeconds": 900,
        "ModelDataDownloadTimeoutInSeconds": 900,
    }
    assert component["RuntimeConfig"] == {"CopyCount": 1}
    assert component["InferenceComponentName"] == endpoint_name(zero)
    assert component["VariantName"] == "AllTraffic"


def test_the_component_reserves_a_gigabyte_of_host_memory_per_tgi_shard() -> None:
    assert component_memory_mb("ml.g5.2xlarge") == 1024
    assert component_memory_mb("ml.g5.16xlarge") == 1024  # one GPU, one shard, whatever the host's size
    assert component_memory_mb("ml.g5.12xlarge") == 4 * 1024
    assert component_memory_mb("ml.g5.48xlarge") == 8 * 1024


def test_every_instance_type_has_room_for_the_components_reservation() -> None:
    """Far below the smallest host's memory (32 GiB on ml.g5.2xlarge), whatever SageMaker keeps for itself."""
    host_gib = {"ml.g5.2xlarge": 32, "ml.g5.4xlarge": 64, "ml.g5.8xlarge": 128, "ml.g5.16xlarge": 256}
    host_gib |= {"ml.g5.12xlarge": 192, "ml.g5.24xlarge": 384, "ml.g5.48xlarge": 768}
    assert set(host_gib) == set(GPUS_BY_INSTANCE_TYPE)
    for instance_type, gib in host_gib.items():
        assert component_memory_mb(instance_type) <= gib * 1024 // 16, instance_type


def test_scale_to_zero_endpoint_config_lets_managed_scaling_reach_zero_instances(
    zero: dict[str, Any],
) -> None:
    config = only(zero, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 2,
    }
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert config["ExecutionRoleArn"]["Fn::GetAtt"][0].startswith("MistralHostingExecutionRole")


def test_scale_to_zero_is_as_isolated_as_the_default_mode(zero: dict[str, Any]) -> None:
    config = only(zero, "AWS::SageMaker::EndpointConfig")["Properties"]
    model = only(zero, "AWS::SageMaker::Model")["Properties"]
    assert config["EnableNetworkIsolation"] is True and model["EnableNetworkIsolation"] is True
    assert config["VpcConfig"] == {
        "Subnets": model["VpcConfig"]["Subnets"],
        "SecurityGroupIds": model["VpcConfig"]["SecurityGroupIds"],
    }
    assert resources_of(zero, "AWS::EC2::NatGateway") == resources_of(zero, "AWS::EC2::InternetGateway") == {}


def test_copies_scale_in_to_zero_on_concurrency(zero: dict[str, Any]) -> None:
    target = only(zero, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["ResourceId"] == f"inference-component/{endpoint_name(zero)}"
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 2)
    (tracking,) = [
        p["Properties"]
        for p in resources_of(zero, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if p["Properties"]["PolicyType"] == "TargetTrackingScaling"
    ]
    assert tracking["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    }


def test_a_request_that_finds_no_copy_wakes_the_component(zero: dict[str, Any]) -> None:
    (step_id, step), *rest = [
        (k, p["Properties"])
        for k, p in resources_of(zero, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if p["Properties"]["PolicyType"] == "StepScaling"
    ]
    assert rest == []
    config = step["StepScalingPolicyConfiguration"]
    assert config["AdjustmentType"] == "ExactCapacity"  # one copy per wake, however often the alarm fires
    assert config["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    # The scaling alarm (the monitoring's alarms notify a topic instead).
    (alarm,) = [
        a["Properties"]
        for a in resources_of(zero, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmActions") == [{"Ref": step_id}]
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SageMaker", "NoCapacityInvocationFailures")
    assert alarm["Dimensions"] == [{"Name": "InferenceComponentName", "Value": endpoint_name(zero)}]
    assert alarm["AlarmActions"] == [{"Ref": step_id}]
    assert alarm["TreatMissingData"] == "notBreaching"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_the_component_updates_one_copy_at_a_time(zero: dict[str, Any]) -> None:
    policy = only(zero, "AWS::SageMaker::InferenceComponent")["Properties"]["DeploymentConfig"][
        "RollingUpdatePolicy"
    ]
    assert policy["MaximumBatchSize"] == {"Type": "COPY_COUNT", "Value": 1}
    assert policy["RollbackMaximumBatchSize"] == {"Type": "COPY_COUNT", "Value": 1}
    assert policy["WaitIntervalInSeconds"] == 600
    endpoint = only(zero, "AWS::SageMaker::Endpoint")["Properties"]
    assert "DeploymentConfig" not in endpoint and "RetainAllVariantProperties" not in endpoint


def test_the_proxy_names_the_component_and_may_invoke_only_it(zero: dict[str, Any]) -> None:
    function = only(zero, "AWS::Lambda::Function")["Properties"]
    assert function["Environment"]["Variables"]["INFERENCE_COMPONENT_NAME"] == endpoint_name(zero)
    (policy,) = [
        p
        for k, p in resources_of(zero, "AWS::IAM::ManagedPolicy").items()
        if k.startswith("MistralProxyPolicy")
    ]
    (invoke,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "InvokeEndpoint"
    ]
    resources = json.dumps(invoke["Resource"])
    assert f":endpoint/{endpoint_name(zero)}" in resources
    assert f":inference-component/{endpoint_name(zero)}" in resources
    assert len(invoke["Resource"]) == 2


def test_scale_to_zero_refuses_regions_without_inference_components(zero: dict[str, Any]) -> None:
    rule = zero["Rules"]["InferenceComponentRegion"]["Assertions"][0]
    regions = rule["Assert"]["Fn::Contains"][0]
    assert "us-east-1" in regions and "af-south-1" not in regions
    with pytest.raises(ConfigurationError, match="pinned to af-south-1, but scale_to_zero hosts the model"):
        app = new_app()
        MistralEndpoint(
            cdk.Stack(app, "Cape", env=cdk.Environment(region="af-south-1")), "M", scale_to_zero=True
        )


def test_scale_to_zero_outputs_the_component_name(zero: dict[str, Any]) -> None:
    assert zero["Outputs"]["InferenceComponentName"]["Value"] == endpoint_name(zero)


def test_metrics_follow_the_component_in_scale_to_zero_mode() -> None:
    mistral = MistralEndpoint(cdk.Stack(new_app(), "Metrics"), "Mistral", scale_to_zero=True)
    assert mistral.metric_invocations().dimensions == {"InferenceComponentName": mistral.endpoint_name}
    assert mistral.metric_no_capacity_invocation_failures().metric_name == "NoCapacityInvocationFailures"
    assert mistral.metric_gpu_utilization().dimensions == {
        "EndpointName": mistral.endpoint_name,
        "VariantName": "AllTraffic",
    }
    assert mistral.metric_concurrent_requests().metric_name == "ConcurrentRequestsPerCopy"


def test_no_capacity_failures_exist_only_for_components() -> None:
    mistral = MistralEndpoint(cdk.Stack(new_app(), "Variant"), "Mistral")
    with pytest.raises(ConfigurationError, match="needs scale_to_zero=True"):
        mistral.metric_no_capacity_invocation_failures()
    assert mistral.metric_concurrent_requests().metric_name == "ConcurrentRequestsPerModel"


# --- schedules --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scheduled() -> dict[str, Any]:
    return synth(
        scale_to_zero=True, schedule=ScalingSchedule.business_hours("Europe/Paris", start_hour=8, end_hour=19)
    )


def test_a_schedule_keeps_one_copy_warm_in_business_hours(scheduled: dict[str, Any]) -> None:
    actions = {
        a["ScheduledActionName"]: a
        for a in only(scheduled, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"][
            "ScheduledActions"
        ]
    }
    warm, cool = (next(a for name, a in actions.items() if key in name) for key in ("WarmUp", "CoolDown"))
    assert warm["Schedule"] == "cron(0 8 ? * MON-FRI *)"
    assert warm["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 2}
    assert cool["Schedule"] == "cron(0 19 ? * MON-FRI *)"
    assert cool["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 2}
    assert warm["Timezone"] == cool["Timezone"] == "Europe/Paris"


def test_the_app_reads_business_hours_from_context() -> None:
    from stacks.config import StackConfig

    config = StackConfig(schedule="America/New_York 9-17 MON,WED,FRI")
    assert config.scaling_schedule() == ScalingSchedule("America/New_York", 9, 17, "MON,WED,FRI", 1)
    assert StackConfig(schedule="Asia/Tokyo 7-22").scaling_schedule() == ScalingSchedule("Asia/Tokyo", 7, 22)


# --- refused configurations, each with its fix ------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"scale_to_zero": True, "min_capacity": 1},
            "scale_to_zero scales the model down to zero copies, got min_capacity=1",
        ),
        (
            {"min_capacity": 0},
            "min_capacity must be at least 1, got 0. An endpoint variant cannot scale below one",
        ),
        ({"min_capacity": 3, "max_capacity": 2}, "min_capacity (3) must not exceed max_capacity (2)"),
        (
            {"initial_instance_count": 3},
            "initial_instance_count (3) must be between min_capacity (1) and max_capacity (2)",
        ),
        (
            {
                "min_capacity": 1,
                "max_capacity": 1,
                "schedule": ScalingSchedule.business_hours("Europe/Paris"),
            },
            "schedule needs autoscaling, which is off when min_capacity equals max_capacity (1)",
        ),
        (
            {"schedule": ScalingSchedule.business_hours("Europe/Paris")},
            "schedule min_capacity (1) must be above the endpoint's floor (1)",
        ),
        (
            {"scale_to_zero": True, "schedule": ScalingSchedule("Europe/Paris", 19, 8)},
            "schedule end_hour (8) must be after start_hour (19)",
        ),
        (
            {"scale_to_zero": True, "schedule": ScalingSchedule("Paris time", 8, 19)},
            "schedule time_zone 'Paris time' is not an IANA time zone name",
        ),
        (
            {"scale_to_zero": True, "schedule": ScalingSchedule("Europe/Paris", 8, 19, "weekdays")},
            "schedule week_days 'weekdays': use cron day names",
        ),
        ({"max_capacity": 0}, "max_capacity must be at least 1, got 0"),
    ],
)
def test_impossible_capacity_is_refused_with_its_fix(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        MistralEndpoint(cdk.Stack(new_app(), "Refused"), "Mistral", **props)
    assert message in str(raised.value)


def test_unreadable_business_hours_context_is_refused() -> None:
    from stacks.config import StackConfig

    with pytest.raises(ConfigurationError, match=r"schedule='9 to 5': use 'TIME_ZONE START-END \[DAYS\]'"):
        StackConfig(schedule="9 to 5").scaling_schedule()
