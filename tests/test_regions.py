"""One source of region facts: synth, the region-agnostic template's rules and `mistral-invoke preflight`
refuse the same regions with the same reason, in every region CloudFormation knows."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.helpers import REGIONS as CFN_LINT_REGIONS
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from constructs import Construct
from synth_helpers import new_app, template_of

from app import build_app
from invoke_proxy.regions import (
    FUNCTION_URL_UNSUPPORTED_REGIONS,
    INFERENCE_COMPONENT_REGIONS,
    LAYER_ARN_BY_REGION,
    TGI_REGIONS,
)
from mistral_client import cli
from mistral_endpoint import ConfigurationError, _web_adapter, regions

#: CloudFormation's region list as cfn-lint ships it (one resource schema set per region), and every region the
#: project's own tables name (the TGI table has one cfn-lint does not list yet).
REGIONS = sorted(
    set(CFN_LINT_REGIONS) | TGI_REGIONS | FUNCTION_URL_UNSUPPORTED_REGIONS | set(LAYER_ARN_BY_REGION)
)

#: The modes, as the same context keys for both: cdk.json's defaults, scale to zero, the buffered proxy, and
#: the private door alone (no function URL: no function URL region rule).
MODES = {
    "default": {},
    "private_door": {"frontDoor": "private"},
    "scale_to_zero": {"scaleToZero": "true"},
    "streaming_off": {"streaming": "false"},
}


def test_the_region_list_is_cloudformations() -> None:
    assert {"us-east-1", "eu-west-3", "af-south-1", "us-gov-west-1", "cn-north-1", "eusc-de-east-1"} <= set(
        REGIONS
    )
    assert len(CFN_LINT_REGIONS) >= 46


def test_inference_component_regions_are_the_tgi_regions_cloudformation_offers_components_in() -> None:
    offered = {
        region
        for region in CFN_LINT_REGIONS
        if "AWS::SageMaker::InferenceComponent" in PROVIDER_SCHEMA_MANAGER.get_resource_types(region)
    }
    assert offered & TGI_REGIONS == INFERENCE_COMPONENT_REGIONS


def preflight_refusals(region: str, context: dict[str, str]) -> list[str]:
    """The reasons `mistral-invoke preflight --region R -c ...` fails the region for, in table order, run
    without credentials (its region checks are offline)."""
    pairs = [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["preflight", "--region", region, "--json", *pairs], stdout=out, stderr=err)
    reasons = [row["action"] for row in json.loads(out.getvalue()) if row["status"] == "FAIL"]
    assert code == (1 if reasons else 3), err.getvalue()
    return reasons


@pytest.fixture(scope="module")
def preflight_verdicts() -> dict[tuple[str, str], list[str]]:
    """(mode, region) -> preflight's reasons, with no credentials anywhere in reach."""
    with pytest.MonkeyPatch.context() as env:
        for name in (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ):
            env.delenv(name, raising=False)
        env.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        env.setenv("AWS_EC2_METADATA_DISABLED", "true")
        return {
            (mode, region): preflight_refusals(region, context)
            for mode, context in MODES.items()
            for region in REGIONS
        }


def app_refusal(region: str, context: dict[str, str]) -> str | None:
    """The error the app raises when pinned to the region (`cdk synth -c region=R -c ...`), or None."""
    try:
        build_app(new_app(compliance="off", region=region, **context))
    except ConfigurationError as exc:
        return str(exc)
    return None


#: What synth calls for each region rule of the template (hosting.py, proxy.py): rule id -> check.
SYNTH_CHECKS: dict[str, Callable[[Construct], object]] = {
    "TgiImageRegion": regions.check_tgi_region,
    "InferenceComponentRegion": regions.check_inference_component_region,
    "FunctionUrlRegion": regions.check_function_url_region,
    "WebAdapterLayerRegion": _web_adapter.web_adapter_layer,
}


def region_rule_ids(template: dict[str, Any]) -> list[str]:
    return [rule_id for rule_id in template.get("Rules", {}) if rule_id != "CheckBootstrapVersion"]


def pinned_check_refusals(rule_ids: list[str], region: str) -> list[str]:
    """Each rule's synth check on a construct in a stack pinned to the region: the errors it raises."""
    refusals = []
    for rule_id in rule_ids:
        stack = cdk.Stack(cdk.App(), "MistralEndpointStack", env=cdk.Environment(region=region))
        try:
            SYNTH_CHECKS[rule_id](Construct(stack, "Tiny"))
        except ConfigurationError as exc:
            refusals.append(str(exc))
    return refusals


def deploy_time_refusals(template: dict[str, Any], region: str) -> list[str]:
    """The AssertDescriptions of the region-agnostic template's region rules that fail in the region."""
    return [
        assertion["AssertDescription"]
        for rule_id in region_rule_ids(template)
        for assertion in template["Rules"][rule_id]["Assertions"]
        if not _holds(assertion["Assert"], region)
    ]


def _holds(condition: dict[str, Any], region: str) -> bool:
    """A region rule's condition: Fn::Contains of a region list and the deploy's region, or Fn::Not of one."""
    if "Fn::Not" in condition:
        return not _holds(condition["Fn::Not"][0], region)
    listed, value = condition["Fn::Contains"]
    assert value == {"Ref": "AWS::Region"}
    return region in listed


def pinned(region: str, reason: str) -> str:
    return f"MistralEndpointStack is pinned to {region}, but {reason}"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_synth_pinned_to_any_region_refuses_exactly_what_preflight_refuses_with_the_same_reasons(
    mode: str, preflight_verdicts: dict[tuple[str, str], list[str]]
) -> None:
    # The checks synth runs in this mode are the region rules the mode's real stack carries when it is not
    # pinned (regions.check_region writes the rule, or raises when pinned, from the same call). Each is run
    # pinned to every region; where preflight refuses, the whole app is built pinned there too (cheap: it
    # stops at the first refusal) and must fail with the first reason.
    rule_ids = region_rule_ids(template_of(mode))
    disagreements = []
    for region in REGIONS:
        reasons = preflight_verdicts[mode, region]
        checks = pinned_check_refusals(rule_ids, region)
        if sorted(checks) != sorted(pinned(region, reason) for reason in reasons):
            disagreements.append(f"{region}: synth checks {checks!r}, preflight {reasons!r}")
        if reasons:
            refusal = app_refusal(region, MODES[mode])
            # The app names the context keys in front ("context region='eu-west-3': ...").
            if refusal is None or not refusal.endswith(pinned(region, reasons[0])):
                disagreements.append(f"{region}: app {refusal!r}, preflight {reasons!r}")
    assert disagreements == []


@pytest.mark.parametrize("mode", sorted(MODES))
def test_the_region_agnostic_template_refuses_at_deploy_what_preflight_refuses_with_the_same_reasons(
    mode: str, preflight_verdicts: dict[tuple[str, str], list[str]]
) -> None:
    template = template_of(mode)
    disagreements = []
    for region in REGIONS:
        reasons = preflight_verdicts[mode, region]
        deploy = deploy_time_refusals(template, region)
        if sorted(deploy) != sorted(reasons):
            disagreements.append(f"{region}: template {deploy!r}, preflight {reasons!r}")
    assert disagreements == []


def test_the_issues_case_eu_west_3_with_scale_to_zero_is_refused_by_both(
    preflight_verdicts: dict[tuple[str, str], list[str]],
) -> None:
    (reason,) = preflight_verdicts["scale_to_zero", "eu-west-3"]
    assert reason.startswith("scale_to_zero hosts the model as an inference component, which CloudFormation")
    refusal = app_refusal("eu-west-3", MODES["scale_to_zero"])
    assert refusal is not None
    assert refusal.endswith(pinned("eu-west-3", reason))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_mode_admits_us_east_1_and_refuses_il_central_1(mode: str) -> None:
    # The comparisons above cannot pass by both sides refusing nothing, or everything.
    assert app_refusal("us-east-1", MODES[mode]) is None
    assert app_refusal("il-central-1", MODES[mode]) is not None


def test_each_mode_carries_the_rules_of_its_checks() -> None:
    assert [region_rule_ids(template_of(mode)) for mode in sorted(MODES)] == [
        ["TgiImageRegion", "FunctionUrlRegion", "WebAdapterLayerRegion"],
        ["TgiImageRegion", "WebAdapterLayerRegion"],
        ["TgiImageRegion", "InferenceComponentRegion", "FunctionUrlRegion", "WebAdapterLayerRegion"],
        ["TgiImageRegion", "FunctionUrlRegion"],
    ]
