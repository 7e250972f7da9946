"""The compliance packs run on every synth and every acknowledgement carries a resource-specific reason."""

from __future__ import annotations

from typing import Any

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
