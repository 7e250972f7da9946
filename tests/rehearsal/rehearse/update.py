"""The update phase's checks: a second deploy with changed settings updates the proxy in place, replaces the
model and endpoint configuration, and leaves no replaced resource behind."""

from __future__ import annotations

from typing import Any

from .common import check
from .scaling import scalable_target, scaling_policies
from .stack import Clients, Deployed, every

# The update: a proxy setting (Lambda environment) and a container setting (replaces the SageMaker model and
# endpoint config, then updates the endpoint): both update paths of the stack.
UPDATE_CONTEXT = {"defaultMaxNewTokens": "256", "maxConcurrentRequests": "64"}


def scale_out(clients: Clients, deployed: Deployed) -> int:
    """Before the update: the variant scaled out to the scalable target's maximum, as autoscaling would under
    load (UpdateEndpointWeightsAndCapacities is the call Application Auto Scaling makes). Returns the count."""
    count = int(scalable_target(clients, deployed)["MaxCapacity"])
    clients.sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=deployed.outputs["EndpointName"],
        DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredWeight": 1.0, "DesiredInstanceCount": count}
        ],
    )
    return count


def verify_deployment_config(clients: Clients, before: Deployed, after: Deployed, scaled_to: int) -> str:
    """The update reached the endpoint as UpdateEndpoint: the template's DeploymentConfig is its last, the
    scaled-out instance count is retained (RetainAllVariantProperties), and the scaling registration and its
    policies are the same as before."""
    (properties,) = after.properties("AWS::SageMaker::Endpoint").values()
    endpoint = clients.sagemaker.describe_endpoint(EndpointName=after.outputs["EndpointName"])
    deployment: dict[str, Any] = endpoint.get("LastDeploymentConfig", {})
    check(
        deployment == properties["DeploymentConfig"],
        f"LastDeploymentConfig {deployment}, the template's {properties['DeploymentConfig']}",
    )
    (variant,) = endpoint["ProductionVariants"]
    expected = (
        scaled_to if properties.get("RetainAllVariantProperties") else variant.get("DesiredInstanceCount")
    )
    check(
        variant.get("DesiredInstanceCount") == expected == variant.get("CurrentInstanceCount"),
        f"after the update the variant has {variant.get('DesiredInstanceCount')} instances; it had been scaled "
        f"out to {scaled_to} and RetainAllVariantProperties is {properties.get('RetainAllVariantProperties')}",
    )
    target_before, target_after = scalable_target(clients, before), scalable_target(clients, after)
    check(
        target_after["ScalableTargetARN"] == target_before["ScalableTargetARN"],
        f"the scalable target was re-registered: {target_before} -> {target_after}",
    )
    policies = sorted(p["PolicyARN"] for p in scaling_policies(clients, target_after))
    check(
        policies == before.ids("AWS::ApplicationAutoScaling::ScalingPolicy"),
        f"scaling policies after update {policies}",
    )
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
    return (
        f"blue/green ({routing}) deployment config applied, {expected} scaled-out instances retained, "
        "scaling registration unchanged"
    )


def verify_update(clients: Clients, before: Deployed, after: Deployed) -> str:
    function = clients.lam.get_function_configuration(FunctionName=after.one("AWS::Lambda::Function"))
    env = function["Environment"]["Variables"]
    check(
        env["DEFAULT_MAX_NEW_TOKENS"] == UPDATE_CONTEXT["defaultMaxNewTokens"],
        f"proxy env after update {env}",
    )
    model_name = after.one("AWS::SageMaker::Model").rsplit("/", 1)[-1]
    container_env = clients.sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["Environment"]
    check(
        container_env.get("MAX_CONCURRENT_REQUESTS") == UPDATE_CONTEXT["maxConcurrentRequests"],
        f"container environment after update {container_env}",
    )
    endpoint = clients.sagemaker.describe_endpoint(EndpointName=after.outputs["EndpointName"])
    config_name = after.one("AWS::SageMaker::EndpointConfig").rsplit("/", 1)[-1]
    check(endpoint["EndpointConfigName"] == config_name, "the endpoint does not use the new config")
    check(after.outputs == before.outputs, f"outputs changed on update: {before.outputs} -> {after.outputs}")
    replaced = sorted(
        logical for logical, pid in after.physical.items() if before.physical.get(logical) not in (None, pid)
    )
    models = [m["ModelName"] for m in every(clients.sagemaker, "list_models", "Models")]
    check(models == [model_name], f"models after update: {models} (the replaced one should be gone)")
    configs = [
        c["EndpointConfigName"] for c in every(clients.sagemaker, "list_endpoint_configs", "EndpointConfigs")
    ]
    check(
        configs == [config_name],
        f"endpoint configs after update: {configs} (the replaced one should be gone)",
    )
    return f"replaced {', '.join(replaced) or 'nothing'}; proxy and container settings applied"
