"""Hosting modes are data: one strategy per mode, alarms as a table, rollback alarms built in one direction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from synth_helpers import imported_vpc, new_app, resources_of

from mistral_endpoint import ConfigurationError, MistralEndpoint, MistralModelEndpoint
from mistral_endpoint.alarms import ALARM_SPECS, ROLLBACK_ALARMS, AlarmPlan, AlarmSettings, Watched
from mistral_endpoint.defaults import DEFAULTS
from mistral_endpoint.hosting_modes import (
    INFERENCE_COMPONENT,
    INSTANCE_VARIANT,
    HostingMode,
    InferenceComponent,
    InstanceVariant,
)
from mistral_endpoint.operations import MistralMonitoring

PACKAGE = Path(__file__).resolve().parents[1] / "constructs" / "mistral_endpoint"
SOURCES = [PACKAGE.parent.parent / "stacks", PACKAGE]


def python_files_outside(*allowed: str) -> dict[str, str]:
    files = [f for d in SOURCES for f in d.glob("*.py") if f.name not in allowed]
    return {f.name: f.read_text() for f in files}


def test_only_the_hosting_modes_ask_whether_a_component_serves_the_model() -> None:
    asking = re.compile(r"inference_component_name is (not )?None|if scale_to_zero\b")
    # The region rules (which ask it too) live in the runtime's invoke_proxy/regions.py, outside these folders.
    outside = python_files_outside("hosting_modes.py")
    offenders = [name for name, text in outside.items() if asking.search(text)]
    assert offenders == []


def test_the_monitoring_reaches_into_no_endpoint_resource() -> None:
    for name in ("operations.py", "alarms.py", "dashboard.py"):
        text = (PACKAGE / name).read_text()
        assert "getattr(" not in text and "cfn_endpoint" not in text, name


def test_the_endpoint_predicts_no_alarm_name() -> None:
    text = (PACKAGE / "endpoint.py").read_text()
    assert "rollback_alarm_references" not in text and "name_prefix" not in text


def test_every_alarm_spec_has_a_default_setting_and_every_default_a_spec() -> None:
    assert [spec.name for spec in ALARM_SPECS] == list(DEFAULTS.alarms)


def test_updates_roll_back_on_the_model_5xx_and_time_per_token() -> None:
    assert ROLLBACK_ALARMS == ("Invocation5XXErrors", "MsPerTokenP90")


@pytest.mark.parametrize(
    ("mode", "applies", "left_out"),
    [
        (InstanceVariant("e", "AllTraffic"), "NoHealthyCapacity", "WakeUpNotCompleting"),
        (InferenceComponent("e", "AllTraffic", "e"), "WakeUpNotCompleting", "NoHealthyCapacity"),
    ],
)
def test_each_mode_has_the_alarms_that_apply_to_it(mode: HostingMode, applies: str, left_out: str) -> None:
    class Endpoint:
        hosting_mode = mode

    watched = Watched(endpoint=Endpoint(), proxy=None, gpus=1)  # type: ignore[arg-type]
    by_name = {spec.name: spec for spec in ALARM_SPECS}
    assert by_name[applies].applies(watched)
    assert not by_name[left_out].applies(watched)


def test_alarms_that_read_the_proxy_are_left_out_without_one() -> None:
    watched = Watched(
        endpoint=type("E", (), {"hosting_mode": InstanceVariant("e", "v")})(), proxy=None, gpus=1
    )
    assert [s.name for s in ALARM_SPECS if s.needs_proxy and s.applies(watched)] == []


def test_an_imported_endpoint_with_a_component_name_is_hosted_as_a_component() -> None:
    assert HostingMode.of("e", "AllTraffic", "c").key == INFERENCE_COMPONENT
    assert HostingMode.of("e", "AllTraffic", None).key == INSTANCE_VARIANT


def test_component_invocation_metrics_are_per_component_and_instance_metrics_per_variant() -> None:
    mode = InferenceComponent("e", "AllTraffic", "c")
    assert mode.dimensions("AWS/SageMaker") == {"InferenceComponentName": "c"}
    assert mode.dimensions("/aws/sagemaker/Endpoints") == {"EndpointName": "e", "VariantName": "AllTraffic"}


def test_only_a_component_names_itself_to_the_proxy() -> None:
    assert InferenceComponent("e", "v", "c").proxy_environment() == {"INFERENCE_COMPONENT_NAME": "c"}
    assert InstanceVariant("e", "v").proxy_environment() == {}


def test_the_endpoints_rollback_alarms_are_named_by_the_plan_the_monitoring_names_its_alarms_with() -> None:
    stack = cdk.Stack(new_app(), "Named")
    mistral = MistralEndpoint(stack, "Mistral", alarm_settings={"ModelLatencyP90": AlarmSettings(30, 3)})
    assert mistral.monitoring is not None
    made = {mistral.monitoring.alarms[name].node.default_child.alarm_name for name in ROLLBACK_ALARMS}  # type: ignore[union-attr]
    assert (
        {a.alarm_name for a in mistral.rollback_alarms}
        == made
        == {
            "Named-Mistral-Invocation5XXErrors",
            "Named-Mistral-MsPerTokenP90",
        }
    )


def test_a_rollback_alarm_left_out_is_neither_made_nor_named() -> None:
    stack = cdk.Stack(new_app(), "LeftOut")
    mistral = MistralEndpoint(stack, "Mistral", alarm_settings={"MsPerTokenP90": None})
    assert [a.alarm_name for a in mistral.rollback_alarms] == ["LeftOut-Mistral-Invocation5XXErrors"]


def test_parts_wired_through_one_plan_create_the_rollback_alarms_before_the_endpoint() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Parts", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    plan = AlarmPlan(stack, watches_proxy=False)
    hosting = MistralModelEndpoint(
        stack,
        "Hosting",
        vpc=imported_vpc(stack, ["eu-west-1a", "eu-west-1b"]),
        rollback_alarms=plan.rollback_alarms(stack),
    )
    hosting.start_after(plan.rollback_alarms_made)
    MistralMonitoring(stack, "Monitoring", endpoint=hosting, plan=plan)
    template: dict[str, Any] = app.synth().get_stack_by_name("Parts").template
    (endpoint,) = resources_of(template, "AWS::SageMaker::Endpoint").values()
    waits_for = {
        template["Resources"][d]["Properties"]["AlarmName"]
        for d in endpoint["DependsOn"]
        if template["Resources"][d]["Type"] == "AWS::CloudWatch::Alarm"
    }
    named = {
        a["AlarmName"]
        for a in endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    }
    assert waits_for == named == {"Parts-Invocation5XXErrors"}  # no proxy: no MsPerTokenP90 alarm


def test_a_plan_for_a_proxy_refuses_a_monitoring_without_one() -> None:
    stack = cdk.Stack(new_app(), "NoProxy")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Imported", endpoint_name="e")
    with pytest.raises(ConfigurationError, match="made with watches_proxy=True, but no proxy is given"):
        MistralMonitoring(stack, "Monitoring", endpoint=endpoint, plan=AlarmPlan(stack))


def test_a_plan_and_alarm_settings_together_are_refused() -> None:
    stack = cdk.Stack(new_app(), "Both")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Imported", endpoint_name="e")
    with pytest.raises(ConfigurationError, match="alarm_settings and plan both tune the alarms"):
        MistralMonitoring(
            stack,
            "Monitoring",
            endpoint=endpoint,
            plan=AlarmPlan(stack),
            alarm_settings={"ProxyErrors": None},
        )
