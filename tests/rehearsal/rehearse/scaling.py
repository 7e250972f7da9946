"""The capacity checks: the stack's Application Auto Scaling registration, its policies and alarms, read back
through the emulator's application-autoscaling and cloudwatch APIs (not the template)."""

from __future__ import annotations

from typing import Any

from .common import check
from .stack import Clients, Deployed, every

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_METRIC = "SageMakerVariantConcurrentRequestsPerModelHighResolution"
COMPONENT_METRIC = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
WAKE_METRIC = "NoCapacityInvocationFailures"
# The namespaces whose scalable targets the inventory lists (the stack scales SageMaker only).
SCALING_NAMESPACES = ("sagemaker",)


def scalable_target(clients: Clients, deployed: Deployed) -> dict[str, Any]:
    """The stack's one scalable target, as Application Auto Scaling describes it."""
    resource_id, dimension, namespace = deployed.one("AWS::ApplicationAutoScaling::ScalableTarget").split("|")
    targets = clients.scaling.describe_scalable_targets(
        ServiceNamespace=namespace, ResourceIds=[resource_id]
    )["ScalableTargets"]
    targets = [t for t in targets if t["ScalableDimension"] == dimension]
    check(len(targets) == 1, f"{resource_id} ({dimension}) is not registered: {targets}")
    return dict(targets[0])


def scaling_policies(clients: Clients, target: dict[str, Any]) -> list[dict[str, Any]]:
    policies = every(
        clients.scaling,
        "describe_scaling_policies",
        "ScalingPolicies",
        ServiceNamespace=target["ServiceNamespace"],
        ResourceId=target["ResourceId"],
    )
    return [p for p in policies if p["ResourceId"] == target["ResourceId"]]


def verify_scaling(clients: Clients, deployed: Deployed, endpoint_name: str) -> str:
    """The scalable target names the deployed endpoint's variant (or its inference component) with the template's
    bounds; each of the stack's policies is on it, target tracking on the high-resolution concurrency metric; in
    scale-to-zero mode the wake alarm on NoCapacityInvocationFailures triggers the step policy."""
    (template_target,) = deployed.properties("AWS::ApplicationAutoScaling::ScalableTarget").values()
    target = scalable_target(clients, deployed)
    component = deployed.inference_component_name
    if component is None:
        variants = clients.sagemaker.describe_endpoint(EndpointName=endpoint_name)["ProductionVariants"]
        check(len(variants) == 1, f"endpoint variants {variants}")
        expected = (f"endpoint/{endpoint_name}/variant/{variants[0]['VariantName']}", VARIANT_DIMENSION)
        metric = VARIANT_METRIC
    else:
        clients.sagemaker.describe_inference_component(InferenceComponentName=component)  # it exists
        expected = (f"inference-component/{component}", COMPONENT_DIMENSION)
        metric = COMPONENT_METRIC
    check(
        (target["ResourceId"], target["ScalableDimension"]) == expected,
        f"the scalable target is {target['ResourceId']} ({target['ScalableDimension']}), not {expected}",
    )
    bounds = (target["MinCapacity"], target["MaxCapacity"])
    check(
        bounds == (int(template_target["MinCapacity"]), int(template_target["MaxCapacity"])),
        f"scalable target min/max {bounds}, the template's {template_target}",
    )
    check(component is None or bounds[0] == 0, f"an inference component must scale to 0, min is {bounds[0]}")

    policies = scaling_policies(clients, target)
    arns = deployed.ids("AWS::ApplicationAutoScaling::ScalingPolicy")
    check(
        sorted(p["PolicyARN"] for p in policies) == arns,
        f"policies on {target['ResourceId']}: {[p['PolicyARN'] for p in policies]}, the stack's: {arns}",
    )
    tracking = [p for p in policies if p["PolicyType"] == "TargetTrackingScaling"]
    check(len(tracking) == 1, f"expected one target-tracking policy, found {len(tracking)}")
    tracked = tracking[0]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    check(tracked["PredefinedMetricType"] == metric, f"target tracking on {tracked}, not {metric}")

    # Every alarm of the stack exists (monitoring adds its own); the wake alarm is checked in detail.
    alarm_names = deployed.ids("AWS::CloudWatch::Alarm")
    found = (
        {
            a["AlarmName"]: a
            for a in every(clients.cloudwatch, "describe_alarms", "MetricAlarms", AlarmNames=alarm_names)
        }
        if alarm_names
        else {}
    )
    check(sorted(found) == alarm_names, f"alarms {alarm_names}, the emulator has {sorted(found)}")
    detail = f"{target['ResourceId']} scales {bounds[0]}-{bounds[1]} on {tracked['PredefinedMetricType']}"
    if component is not None:
        steps = [p for p in policies if p["PolicyType"] == "StepScaling"]
        check(len(steps) == 1, f"expected one step scaling policy (the wake), found {len(steps)}")
        # The wake alarm is the one whose action is the step policy (monitoring may watch the same metric).
        wake = [a for a in found.values() if steps[0]["PolicyARN"] in a.get("AlarmActions", [])]
        check(
            len(wake) == 1,
            f"expected one alarm triggering the step policy, found {[a['AlarmName'] for a in wake]}",
        )
        check(wake[0].get("MetricName") == WAKE_METRIC, f"the wake alarm watches {wake[0].get('MetricName')}")
        dimensions = {d["Name"]: d["Value"] for d in wake[0].get("Dimensions", [])}
        check(dimensions == {"InferenceComponentName": component}, f"wake alarm dimensions {dimensions}")
        check(
            wake[0].get("AlarmActions") == [steps[0]["PolicyARN"]],
            f"the wake alarm triggers {wake[0].get('AlarmActions')}, not only the step policy {steps[0]['PolicyARN']}",
        )
        detail += f"; alarm {wake[0]['AlarmName']} on {WAKE_METRIC} wakes it with the step policy"
    return detail
