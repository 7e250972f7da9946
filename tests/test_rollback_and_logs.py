"""Day-2 paths real AWS would refuse today: an update must be able to read its rollback alarms, and a
scale-to-zero model's logs must land in a group the stack owns."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from synth_helpers import new_app, only, resources_of, template_of

from mistral_endpoint import MistralModelEndpoint

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


def resolve(value: Any) -> Any:
    """Enough of CloudFormation's intrinsics to compare ARNs: Fn::Join, pseudo parameters, Ref to a name."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part)) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return PSEUDO.get(value["Ref"], value["Ref"])
    return value


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"


def statements_for_role(template: dict[str, Any], role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the managed policies attached to ``role`` (a {"Fn::GetAtt": [id, "Arn"]})."""
    role_id = role["Fn::GetAtt"][0]
    return [
        statement
        for policy in resources_of(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def alarms_readable_by(statements: list[dict[str, Any]]) -> set[str]:
    readable: set[str] = set()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if "cloudwatch:DescribeAlarms" in actions:
            assert statement["Effect"] == "Allow"
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            readable.update(resolve(resource) for resource in resources)
    return readable


# --- auto-rollback can read its alarms ------------------------------------------------------------------


def test_blue_green_rollback_alarms_are_readable_by_the_models_execution_role() -> None:
    template = template_of("default")
    endpoint = only(template, "AWS::SageMaker::Endpoint")["Properties"]
    named = {a["AlarmName"] for a in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]}
    assert named  # the monitoring's 5xx and latency alarms
    model = only(template, "AWS::SageMaker::Model")["Properties"]
    statements = statements_for_role(template, model["ExecutionRoleArn"])
    assert alarms_readable_by(statements) == {alarm_arn(name) for name in named}


def test_component_rollback_alarms_are_readable_by_the_endpoint_configs_execution_role() -> None:
    template = template_of("scale_to_zero")
    component = only(template, "AWS::SageMaker::InferenceComponent")["Properties"]
    named = {a["AlarmName"] for a in component["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]}
    assert named
    config = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    statements = statements_for_role(template, config["ExecutionRoleArn"])
    assert alarms_readable_by(statements) == {alarm_arn(name) for name in named}


def test_describe_alarms_is_granted_on_nothing_but_alarm_arns() -> None:
    for variant in ("default", "scale_to_zero", "monitoring_customised"):
        template = template_of(variant)
        for policy in resources_of(template, "AWS::IAM::ManagedPolicy").values():
            readable = alarms_readable_by(policy["Properties"]["PolicyDocument"]["Statement"])
            assert all(":alarm:" in arn and "*" not in arn for arn in readable), variant


def test_without_rollback_alarms_the_role_reads_no_alarm() -> None:
    template = template_of("monitoring_off")
    model = only(template, "AWS::SageMaker::Model")["Properties"]
    assert alarms_readable_by(statements_for_role(template, model["ExecutionRoleArn"])) == set()


def test_a_platform_teams_own_rollback_alarm_is_readable_by_the_role() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Team", env=cdk.Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        subnet_configuration=[ec2.SubnetConfiguration(name="m", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    own = cloudwatch.Alarm.from_alarm_name(stack, "Own", "team-error-budget")
    MistralModelEndpoint(stack, "Model", vpc=vpc, rollback_alarms=[own])
    template = app.synth().get_stack_by_name("Team").template
    model = only(template, "AWS::SageMaker::Model")["Properties"]
    assert alarms_readable_by(statements_for_role(template, model["ExecutionRoleArn"])) == {
        alarm_arn("team-error-budget")
    }


# --- scale to zero keeps the model's logs -----------------------------------------------------------------


@pytest.fixture(scope="module")
def zero() -> dict[str, Any]:
    return template_of("scale_to_zero")


def log_group_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    ((key, group),) = (
        (k, g)
        for k, g in resources_of(template, "AWS::Logs::LogGroup").items()
        if g["Properties"].get("LogGroupName") == name
    )
    return key, group


def test_scale_to_zero_owns_the_inference_components_log_group(zero: dict[str, Any]) -> None:
    component = only(zero, "AWS::SageMaker::InferenceComponent")
    name = component["Properties"]["InferenceComponentName"]
    key, group = log_group_named(zero, f"/aws/sagemaker/InferenceComponents/{name}")
    assert group["Properties"]["RetentionInDays"] == 365
    assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == (
        "Delete",
        "Delete",
    )  # cdk destroy removes it
    assert key in component["DependsOn"]


def test_the_execution_role_writes_only_to_the_endpoints_and_the_components_groups(
    zero: dict[str, Any],
) -> None:
    component = only(zero, "AWS::SageMaker::InferenceComponent")["Properties"]
    endpoint = only(zero, "AWS::SageMaker::Endpoint")["Properties"]
    expected = {
        log_group_named(zero, f"/aws/sagemaker/InferenceComponents/{component['InferenceComponentName']}")[0],
        log_group_named(zero, f"/aws/sagemaker/Endpoints/{endpoint['EndpointName']}")[0],
    }
    config = only(zero, "AWS::SageMaker::EndpointConfig")["Properties"]
    writes = [
        s for s in statements_for_role(zero, config["ExecutionRoleArn"]) if "logs:PutLogEvents" in s["Action"]
    ]
    (statement,) = writes
    assert {resource["Fn::GetAtt"][0] for resource in statement["Resource"]} == expected


def test_an_always_on_endpoint_has_no_component_log_group() -> None:
    template = template_of("default")
    names = [
        g["Properties"].get("LogGroupName", "")
        for g in resources_of(template, "AWS::Logs::LogGroup").values()
    ]
    assert not any(str(name).startswith("/aws/sagemaker/InferenceComponents/") for name in names)
