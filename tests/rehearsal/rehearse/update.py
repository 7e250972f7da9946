"""The update phase's checks: a second deploy with changed settings updates the proxy in place, replaces the
model and endpoint configuration, and leaves no replaced resource behind."""

from __future__ import annotations

from .common import check
from .stack import Clients, Deployed, every

# The update: a proxy setting (Lambda environment) and a container setting (replaces the SageMaker model and
# endpoint config, then updates the endpoint): both update paths of the stack.
UPDATE_CONTEXT = {"defaultMaxNewTokens": "256", "maxConcurrentRequests": "64"}


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
