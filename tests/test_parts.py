"""Props as typed parts: each child takes its part whole, the app builds the parts from context by one naming rule,
the earlier flat props still work for one release, grants say what they grant, imports work across accounts."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from synth_helpers import new_app, resources_of

from mistral_endpoint import (
    ConfigurationError,
    InvokeProxy,
    IsolatedNetwork,
    MistralEndpoint,
    MistralModelEndpoint,
    MistralMonitoring,
)
from mistral_endpoint.props import PARTS, ProxyOptions, ScalingOptions, ServingOptions
from stacks.config import StackConfig, context_fields

OTHER_ACCOUNT_ARN = "arn:aws:sagemaker:eu-west-1:444455556666:endpoint/shared-mistral"


def test_field_names_are_unique_across_the_parts() -> None:
    names = [field.name for part in PARTS for field in dataclasses.fields(part)]
    assert len(names) == len(set(names))


def test_every_field_documents_itself() -> None:
    for part in PARTS:
        for field in dataclasses.fields(part):
            assert field.metadata.get("doc"), f"{part.__name__}.{field.name}"


def test_the_parts_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ScalingOptions().max_capacity = 4  # type: ignore[misc]


@pytest.mark.parametrize("child", [IsolatedNetwork, MistralModelEndpoint, InvokeProxy, MistralMonitoring])
def test_every_childs_options_are_reachable_from_the_pattern(child: type) -> None:
    pattern = set(inspect.signature(MistralEndpoint.__init__).parameters)
    initializer: Any = vars(child)["__init__"]  # jsii's metaclass hides the class's own signature
    options = [name for name in inspect.signature(initializer).parameters if name.endswith("_options")]
    assert options and set(options) <= pattern


def test_a_part_reaches_the_resource_it_configures() -> None:
    stack = cdk.Stack(new_app(), "Parts")
    MistralEndpoint(
        stack,
        "Mistral",
        proxy_options=ProxyOptions(proxy_memory_size=1024, proxy_reserved_concurrent_executions=20),
        scaling_options=ScalingOptions(max_capacity=4),
    )
    template = dict(Template.from_stack(stack).to_json())
    (function,) = resources_of(template, "AWS::Lambda::Function").values()
    assert (function["Properties"]["MemorySize"], function["Properties"]["ReservedConcurrentExecutions"]) == (
        1024,
        20,
    )
    (target,) = resources_of(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["MaxCapacity"] == 4


def test_flat_props_of_earlier_releases_still_work_and_say_which_part_to_use() -> None:
    stack = cdk.Stack(new_app(), "Flat")
    with pytest.warns(
        DeprecationWarning, match=r"pass ScalingOptions\(max_capacity\), ProxyOptions\(proxy_memory_size\)"
    ):
        mistral = MistralEndpoint(stack, "Mistral", max_capacity=4, proxy_memory_size=1024)
    assert mistral.endpoint.max_capacity == 4


def test_the_earlier_names_of_renamed_props_still_work() -> None:
    stack = cdk.Stack(new_app(), "Renamed")
    role = iam.Role(stack, "TeamRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    with pytest.warns(DeprecationWarning, match=r"ServingOptions\(execution_role\)"):
        mistral = MistralEndpoint(stack, "Mistral", role=role)
    assert mistral.model_role is role


def test_a_prop_no_part_has_is_a_type_error() -> None:
    with pytest.raises(
        TypeError, match="MistralEndpoint\\(\\) got an unexpected keyword argument 'max_instances'"
    ):
        MistralEndpoint(cdk.Stack(new_app(), "Unknown"), "Mistral", max_instances=4)


def test_a_part_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="expected a ServingOptions"):
        MistralEndpoint(cdk.Stack(new_app(), "Wrong"), "Mistral", serving_options=ScalingOptions())  # type: ignore[arg-type]


def test_monitoring_settings_without_monitoring_are_refused() -> None:
    from mistral_endpoint.props import MonitoringOptions

    with pytest.raises(ConfigurationError, match="configure the alarms: drop them, or keep monitoring=True"):
        MistralEndpoint(
            cdk.Stack(new_app(), "Off"),
            "Mistral",
            monitoring_options=MonitoringOptions(monitoring=False, dashboard_name="ops"),
        )


# --- the app builds the parts from context ----------------------------------------------------------------

SAMPLE_VALUES: dict[str, tuple[str, Any]] = {
    "bool": ("false", False),
    "int": ("2", 2),
    "str": ("x", "x"),
}
# Values the app's checks would refuse as samples: a prefill below the prompt, a malformed address.
SAMPLE_FOR_PROP = {
    "max_batch_prefill_tokens": ("9000", 9000),
    "min_capacity": ("1", 1),
    "alarm_email": ("ops@example.com", "ops@example.com"),
    # Comma-separated in context, a tuple of ids in the part.
    "private_api_vpc_endpoint_ids": ("vpce-0a1b,vpce-0c2d", ("vpce-0a1b", "vpce-0c2d")),
}


@pytest.mark.parametrize(
    "name", [n for n in context_fields() if n not in {"model", "schedule", "max_input_length"}]
)
def test_every_context_key_sets_the_prop_its_name_says(name: str) -> None:
    part, field = context_fields()[name]
    raw, value = SAMPLE_FOR_PROP.get(name) or next(
        SAMPLE_VALUES[kind] for kind in ("bool", "int", "str") if kind in str(field.type)
    )
    key = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
    options = StackConfig.from_context(new_app(**{key: raw}).node).options()
    argument = re.sub(r"(?<!^)([A-Z])", r"_\1", part.__name__).lower()
    assert getattr(options[argument], name) == value


def test_the_schedule_key_becomes_the_scaling_schedule() -> None:
    config = StackConfig.from_context(new_app(scaleToZero="true", schedule="Europe/Paris 8-19").node)
    schedule = config.options()["scaling_options"].schedule
    assert (schedule.time_zone, schedule.start_hour, schedule.end_hour) == ("Europe/Paris", 8, 19)


def test_the_model_key_becomes_the_model() -> None:
    from mistral_endpoint import MistralModel

    config = StackConfig.from_context(new_app(model="base").node)
    assert config.options()["serving_options"].model == MistralModel.base()


# --- grants say what they grant ---------------------------------------------------------------------------


def test_the_model_endpoint_has_no_grant_invoke_endpoint_alias() -> None:
    assert not hasattr(MistralModelEndpoint, "grant_invoke_endpoint")


def test_the_patterns_grant_invoke_is_the_front_door_only() -> None:
    app = new_app()
    stack = cdk.Stack(app, "FrontDoor")
    mistral = MistralEndpoint(stack, "Mistral")
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    mistral.grant_invoke(caller)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("CallerDefaultPolicy")]
    actions = {s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert actions == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}


# --- imports across accounts ------------------------------------------------------------------------------


def imported(**props: Any) -> tuple[cdk.Stack, Any]:
    stack = cdk.Stack(new_app(), "Importer", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    return stack, MistralModelEndpoint.from_endpoint_arn(stack, "Shared", OTHER_ACCOUNT_ARN, **props)


def test_an_endpoint_imported_by_arn_is_in_the_arns_account_and_region() -> None:
    _, endpoint = imported()
    assert (endpoint.env.account, endpoint.env.region) == ("444455556666", "eu-west-1")
    assert endpoint.endpoint_name == "shared-mistral"
    assert endpoint.endpoint_arn == OTHER_ACCOUNT_ARN


def test_its_grant_names_the_other_accounts_endpoint_and_component() -> None:
    stack, endpoint = imported(inference_component_name="shared-mistral")
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(role)
    default_policy: Any = role.node.find_child("DefaultPolicy")
    policy = json.dumps(stack.resolve(default_policy.document.to_json()))
    assert OTHER_ACCOUNT_ARN in policy
    assert "arn:aws:sagemaker:eu-west-1:444455556666:inference-component/shared-mistral" in policy


def test_its_metrics_are_read_in_its_account() -> None:
    _, endpoint = imported()
    metric = endpoint.metric_invocations()
    assert (metric.account, metric.region) == ("444455556666", "eu-west-1")


def test_an_endpoint_of_this_account_has_metrics_without_an_account() -> None:
    stack = cdk.Stack(new_app(), "Same", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Local", endpoint_name="local")
    assert endpoint.metric_invocations().account is None


def test_a_proxy_for_another_accounts_endpoint_is_refused() -> None:
    stack, endpoint = imported()
    with pytest.raises(
        ConfigurationError, match="the endpoint is in account 444455556666, the invoke proxy in"
    ):
        InvokeProxy(stack, "Proxy", endpoint=endpoint)


def test_name_and_arn_together_are_refused() -> None:
    stack = cdk.Stack(new_app(), "Both")
    with pytest.raises(ConfigurationError, match="takes endpoint_name or endpoint_arn: give one of them"):
        MistralModelEndpoint.from_endpoint_attributes(
            stack, "Both", endpoint_name="a", endpoint_arn=OTHER_ACCOUNT_ARN
        )


def test_serving_options_default_to_the_librarys_instance() -> None:
    from mistral_endpoint import DEFAULTS

    assert ServingOptions().instance_type == DEFAULTS.instance_type
