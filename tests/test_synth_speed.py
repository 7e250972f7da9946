"""The shortcuts that keep synth fast do what the slow forms did (docs/maintainers/development.md, "Synth speed").

Each round trip to aws-cdk-lib's Node process costs build time, so the constructs batch acknowledgements and ask
aws-cdk-lib whether a value is a token only when it can be one. Each shortcut must give the same answer, the
same metadata and the same template as the form it replaces; the snapshots hold the templates, these tests the rest.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from synth_helpers import new_app

from mistral_endpoint._compliance import (
    acknowledge,
    acknowledge_all,
    acknowledge_checkov,
    acknowledge_checkov_all,
    acknowledge_in_packs,
    nag_resource,
    nag_resources,
)
from mistral_endpoint._validation import is_unresolved


def _metadata(construct: Any) -> list[tuple[str, Any]]:
    return [(entry.type, entry.data) for entry in construct.node.metadata]


def _two_groups() -> tuple[cdk.Stack, logs.LogGroup, logs.LogGroup]:
    stack = cdk.Stack(new_app(), "Acks")
    return stack, logs.LogGroup(stack, "One"), logs.LogGroup(stack, "Two")


def _values_to_test(stack: cdk.Stack) -> list[object]:
    return [
        "plain",
        "",
        "Token[ but no marker",
        "${Token[ not closed",
        stack.region,
        f"arn:{stack.partition}:s3:::bucket",
        cdk.Fn.select(0, cdk.Fn.get_azs()),
        cdk.Token.as_number(cdk.Aws.ACCOUNT_ID),
        0,
        -1,
        3.5,
        -1e300,
        True,
        False,
        None,
        ["list"],
    ]


def test_is_unresolved_answers_as_aws_cdk_lib_does() -> None:
    stack = cdk.Stack(new_app(), "Tokens")
    for value in _values_to_test(stack):
        expected = isinstance(value, str | int | float) and cdk.Token.is_unresolved(value)
        assert is_unresolved(value) == expected, value


def test_is_unresolved_answers_nan_without_asking_the_node_process() -> None:
    assert not is_unresolved(float("nan"))  # jsii cannot send NaN: the old form crashed the Node process


def test_is_unresolved_finds_string_and_number_tokens() -> None:
    stack = cdk.Stack(new_app(), "Tokens")
    assert is_unresolved(stack.region)
    assert is_unresolved(cdk.Token.as_number(cdk.Aws.ACCOUNT_ID))
    assert not is_unresolved("us-east-1")


def test_acknowledge_all_records_what_one_acknowledge_per_finding_records() -> None:
    _, one, two = _two_groups()
    findings = {"AwsSolutions::AwsSolutions-IAM5[Resource::*]": "a reason", "Pack::Pack-Rule": "another"}
    for finding, reason in findings.items():
        acknowledge(one, finding, reason)
    acknowledge_all(two, findings)
    assert _metadata(two) == _metadata(one)
    assert _metadata(one)


def test_acknowledge_in_packs_records_each_pack_in_one_call() -> None:
    _, one, two = _two_groups()
    acknowledge(one, "HIPAA.Security::HIPAA.Security-LambdaDLQ", "why")
    acknowledge(one, "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ", "why")
    acknowledge_in_packs(two, "LambdaDLQ", "why")
    assert _metadata(two) == _metadata(one)


def _checkov(group: logs.LogGroup) -> Any:
    return (group.node.default_child).get_metadata("checkov")  # type: ignore[union-attr]


def test_acknowledge_checkov_all_writes_what_one_call_per_check_writes() -> None:
    _, one, two = _two_groups()
    for group in (one, two):
        acknowledge_checkov(group, "CKV_AWS_1", "kept")
        acknowledge_checkov(group, "CKV_AWS_2", "replaced")
    acknowledge_checkov(one, "CKV_AWS_2", "new reason")
    acknowledge_checkov(one, "CKV_AWS_3", "added")
    acknowledge_checkov_all(two, {"CKV_AWS_2": "new reason", "CKV_AWS_3": "added"})
    assert _checkov(two) == _checkov(one)


def test_acknowledge_checkov_all_needs_every_reason() -> None:
    _, one, _ = _two_groups()
    with pytest.raises(ValueError, match="CKV_AWS_2 on Acks/One: an acknowledgement needs a reason"):
        acknowledge_checkov_all(one, {"CKV_AWS_1": "fine", "CKV_AWS_2": ""})


def test_acknowledge_checkov_refuses_a_construct_without_a_resource() -> None:
    stack = cdk.Stack(new_app(), "Bare")
    with pytest.raises(ValueError, match="Bare has no CloudFormation resource to acknowledge CKV_AWS_1 on"):
        acknowledge_checkov(stack, "CKV_AWS_1", "why")


def test_nag_resources_spell_each_value_as_nag_resource_does() -> None:
    stack, one, _ = _two_groups()
    values = [
        stack.format_arn(service="ec2", resource="subnet", resource_name="subnet-1", account="*"),
        one.log_group_arn,
        "arn:aws:s3:::plain/*",
    ]
    assert nag_resources(one, values) == [nag_resource(one, value) for value in values]
