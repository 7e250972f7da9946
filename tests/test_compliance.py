"""The compliance packs run on every synth and every acknowledgement carries a resource-specific reason."""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_sagemaker as sagemaker
from constructs import IConstruct
from synth_helpers import CDK_JSON_CONTEXT, acknowledgements, default_stack, new_app, synth_app

PACKS = {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"}


def all_acknowledgements(root: IConstruct) -> dict[str, dict[str, str]]:
    return {c.node.path: acknowledgements(c) for c in root.node.find_all() if acknowledgements(c)}


def test_every_variant_passes_all_three_packs(any_template: dict[str, Any]) -> None:
    # The fixture synthesizes with AwsSolutions, HIPAA Security and NIST 800-53 rev 5 registered, and an
    # unacknowledged finding raises (test_an_unacknowledged_finding_fails_the_synth proves that path).
    assert any(r["Type"] == "AWS::SageMaker::Endpoint" for r in any_template["Resources"].values())


def test_an_unacknowledged_finding_fails_the_synth() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Bare")
    sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="AllTraffic",
                model_name="m",
                instance_type="ml.g5.2xlarge",
                initial_instance_count=1,
            )
        ],
    )
    with pytest.raises(RuntimeError, match="SageMakerEndpointConfigurationKMSKeyConfigured"):
        synth_app(app, "Bare")


def test_every_acknowledgement_names_a_specific_reason() -> None:
    found = all_acknowledgements(default_stack())
    reasons = [
        reason
        for by_rule in found.values()
        for rule, reason in by_rule.items()
        if rule.split("::")[0] in PACKS
    ]
    assert reasons
    for reason in reasons:
        assert len(reason) >= 60, reason
    # One rule's reason per resource kind, not one boilerplate sentence everywhere.
    assert len(set(reasons)) >= 7


def test_acknowledged_rules_are_the_expected_few() -> None:
    rules = {
        rule.split("::")[1].split("[")[0]
        for by_rule in all_acknowledgements(default_stack()).values()
        for rule in by_rule
        if rule.split("::")[0] in PACKS  # CDK acknowledges a few of its own built-in rules too
    }
    assert rules == {
        "AwsSolutions-IAM5",
        "HIPAA.Security-CloudWatchLogGroupEncrypted",
        "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
        "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
        "HIPAA.Security-LambdaDLQ",
        "NIST.800.53.R5-LambdaDLQ",
        "HIPAA.Security-LambdaConcurrency",
        "NIST.800.53.R5-LambdaConcurrency",
        "HIPAA.Security-VPCDefaultSecurityGroupClosed",
        "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
    }


def test_log_encryption_key_removes_the_need_to_acknowledge() -> None:
    from aws_cdk import aws_kms as kms

    from mistral_endpoint import MistralEndpoint

    app = new_app()
    stack = cdk.Stack(app, "Keyed")
    MistralEndpoint(stack, "Mistral", log_encryption_key=kms.Key(stack, "LogKey", enable_key_rotation=True))
    rules = {rule for by_rule in all_acknowledgements(stack).values() for rule in by_rule}
    assert not any("CloudWatchLogGroupEncrypted" in rule for rule in rules)
    template = synth_app(app, "Keyed")
    for group in (r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"):
        assert "KmsKeyId" in group["Properties"]


def test_cloudformation_validate_findings_fail_the_synth() -> None:
    # @aws-cdk/core:validateAgainstDefaultRules is true in cdk.json: CDK's own schema checks are errors.
    assert CDK_JSON_CONTEXT["@aws-cdk/core:validateAgainstDefaultRules"] is True
    app = new_app()
    stack = cdk.Stack(app, "Invalid")
    ec2.CfnSecurityGroup(stack, "Group", group_description="bad vpc id", vpc_id="vpc-1")
    with pytest.raises(RuntimeError, match="CloudFormation Validate"):
        app.synth()


def checkov_skips(resource: dict[str, Any]) -> dict[str, str]:
    """check id -> reason, as a resource's Metadata tells checkov."""
    return {
        skip["id"]: skip["comment"]
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def test_checkov_acknowledgement_keeps_other_skips_and_replaces_its_own() -> None:
    from aws_cdk import aws_logs as logs

    from mistral_endpoint._compliance import acknowledge_checkov

    app = new_app()
    stack = cdk.Stack(app, "Skips")
    group = logs.LogGroup(stack, "Logs")
    acknowledge_checkov(group, "CKV_AWS_158", "first reason")
    acknowledge_checkov(
        cast(cdk.CfnResource, group.node.default_child),
        "CKV_AWS_66",
        "a second check, on the CfnLogGroup itself",
    )
    acknowledge_checkov(group, "CKV_AWS_158", "the reason that stands")
    (resource,) = app.synth().get_stack_by_name("Skips").template["Resources"].values()
    assert checkov_skips(resource) == {
        "CKV_AWS_66": "a second check, on the CfnLogGroup itself",
        "CKV_AWS_158": "the reason that stands",
    }


def test_checkov_acknowledgement_needs_a_reason() -> None:
    from aws_cdk import aws_logs as logs

    from mistral_endpoint._compliance import acknowledge_checkov

    group = logs.LogGroup(cdk.Stack(new_app(), "Blank"), "Logs")
    with pytest.raises(ValueError, match="CKV_AWS_158 on Blank/Logs: an acknowledgement needs a reason"):
        acknowledge_checkov(group, "CKV_AWS_158", " ")


def test_log_encryption_key_removes_the_checkov_skip() -> None:
    from aws_cdk import aws_kms as kms

    from mistral_endpoint import MistralEndpoint

    app = new_app()
    stack = cdk.Stack(app, "Keyed")
    MistralEndpoint(stack, "Mistral", log_encryption_key=kms.Key(stack, "LogKey", enable_key_rotation=True))
    template = synth_app(app, "Keyed")
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert groups
    assert [checkov_skips(group) for group in groups] == [{} for _ in groups]


def test_reserved_concurrency_removes_both_concurrency_acknowledgements() -> None:
    from mistral_endpoint import MistralEndpoint

    app = new_app()
    stack = cdk.Stack(app, "Reserved")
    endpoint = MistralEndpoint(stack, "Mistral", proxy_reserved_concurrent_executions=256)
    assert not any("LambdaConcurrency" in rule for rule in acknowledgements(endpoint.proxy.function))
    template = synth_app(app, "Reserved")
    (function,) = (
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in r["Properties"]
    )
    assert "CKV_AWS_115" not in checkov_skips(function)


def test_unreserved_proxy_says_why_to_both_scanners(template: dict[str, Any]) -> None:
    from mistral_endpoint.proxy import UNRESERVED_REASON

    (function,) = (
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and k.startswith("MistralProxyFunction")
    )
    assert "ReservedConcurrentExecutions" not in function["Properties"]
    assert checkov_skips(function)["CKV_AWS_115"] == UNRESERVED_REASON
    function_construct = (
        default_stack().node.find_child("Mistral").node.find_child("Proxy").node.find_child("Function")
    )
    nag = acknowledgements(function_construct)
    assert nag["HIPAA.Security::HIPAA.Security-LambdaConcurrency"] == UNRESERVED_REASON


ENI_WRITE_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def proxy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = (r for k, r in template["Resources"].items() if k.startswith("MistralProxyPolicy"))
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_proxy_changes_enis_only_in_its_own_vpc(template: dict[str, Any]) -> None:
    (vpc_id,) = (k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::VPC")
    vpc_arn = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":ec2:", {"Ref": "AWS::Region"}, ":*:vpc/", {"Ref": vpc_id}],
        ]
    }
    writing = [s for s in proxy_statements(template) if ENI_WRITE_ACTIONS & set(as_list(s["Action"]))]
    assert {a for s in writing for a in as_list(s["Action"])} == ENI_WRITE_ACTIONS
    assert [s["Condition"] for s in writing] == [{"ArnLikeIfExists": {"ec2:Vpc": vpc_arn}} for _ in writing]


def test_proxy_has_resource_star_only_where_lambda_needs_it(template: dict[str, Any]) -> None:
    # Describe* take no resource-level permissions; CreateNetworkInterface keeps * under its VPC condition,
    # the one form shown to pass Lambda's CreateFunction check (see proxy._eni_statements).
    starred = {
        action
        for s in proxy_statements(template)
        if "*" in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }
    assert starred == {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:CreateNetworkInterface"}
