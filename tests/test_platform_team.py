"""A platform team's use of the library: its own VPC and region, grants that work, an imported endpoint.

The stack is pinned to af-south-1, where the TGI image lives in account 626614931356, not 763104351884.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from synth_helpers import imported_vpc, new_app, resources_of, synth_app

from mistral_endpoint import (
    ConfigurationError,
    InvokeProxy,
    MistralEndpoint,
    MistralModel,
    MistralModelEndpoint,
)

REGION = "af-south-1"
ACCOUNT = "111122223333"
OTHER_ACCOUNT = "210987654321"


def platform_stack(app: cdk.App, name: str) -> tuple[cdk.Stack, MistralEndpoint]:
    stack = cdk.Stack(app, name, env=cdk.Environment(account=ACCOUNT, region=REGION))
    vpc = imported_vpc(stack, [f"{REGION}a", f"{REGION}b"], subnet_group="ml", construct_id="TeamVpc")
    mistral = MistralEndpoint(
        stack, "Mistral", vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_group_name="ml")
    )
    return stack, mistral


@pytest.fixture(scope="module")
def platform_template() -> dict[str, Any]:
    """The team's stack, with a grant of its own bucket to the proxy, synthesized under the three packs."""
    app = new_app()
    stack, mistral = platform_stack(app, "PlatformStack")
    documents = s3.Bucket.from_bucket_name(stack, "Documents", "team-documents")
    documents.grant_read(mistral.function)
    # The team's own grant uses CDK's wildcard actions (s3:GetObject*, s3:List*): the team acknowledges
    # them, as it would for any grant in its stacks; everything the library creates stays clean unaided.
    for finding in (
        "Action::s3:GetBucket*",
        "Action::s3:GetObject*",
        "Action::s3:List*",
        "Resource::arn:aws:s3:::team-documents/*",
    ):
        cdk.Validations.of(mistral.proxy.policy).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[{finding}]",
                reason="Read-only access to the team-documents bucket, granted with CDK's grant_read",
            )
        )
    return synth_app(app, "PlatformStack")


@pytest.fixture(scope="module")
def granted() -> dict[str, Any]:
    """Callers in this account and in another one, granted the URL and the endpoint (no packs: the caller
    roles are the team's own, with CDK's inline default policies)."""
    app = new_app()
    stack, mistral = platform_stack(app, "Granted")
    app_role = iam.Role(stack, "AppRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    batch_role = iam.Role(stack, "BatchRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    mistral.grant_invoke_url(app_role)
    mistral.grant_invoke_url(iam.AccountPrincipal(OTHER_ACCOUNT))
    mistral.endpoint.grant_invoke(batch_role)
    return app.synth().get_stack_by_name("Granted").template  # type: ignore[no-any-return]


def proxy_policy(template: dict[str, Any]) -> dict[str, Any]:
    (policy,) = [
        p
        for k, p in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if k.startswith("MistralProxyPolicy")
    ]
    return policy


def inline_policy_of(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    (policy,) = [
        p for k, p in resources_of(template, "AWS::IAM::Policy").items() if k.startswith(role_prefix)
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def test_grant_to_the_proxy_function_lands_in_the_proxys_managed_policy(
    platform_template: dict[str, Any],
) -> None:
    policy = proxy_policy(platform_template)
    (read,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "s3:GetObject*" in s["Action"]
    ]
    assert "arn:" in json.dumps(read["Resource"]) and "team-documents" in json.dumps(read["Resource"])
    (role_ref,) = policy["Properties"]["Roles"]
    assert role_ref["Ref"].startswith("MistralProxyRole")


def test_grants_create_no_inline_policy(platform_template: dict[str, Any]) -> None:
    assert resources_of(platform_template, "AWS::IAM::Policy") == {}


def test_the_proxy_function_does_not_depend_on_its_role_twice(platform_template: dict[str, Any]) -> None:
    (function,) = resources_of(platform_template, "AWS::Lambda::Function").values()
    assert function["Properties"]["Role"]["Fn::GetAtt"][0].startswith("MistralProxyRole")
    # The GetAtt already orders the role first (a DependsOn on it is cfn-lint's W3005); the policy is not.
    assert [d for d in function["DependsOn"] if d.startswith("MistralProxyRole")] == []
    assert any(d.startswith("MistralProxyPolicy") for d in function["DependsOn"])


def test_the_image_comes_from_the_regions_own_ecr_account(platform_template: dict[str, Any]) -> None:
    (model,) = resources_of(platform_template, "AWS::SageMaker::Model").values()
    account = model["Properties"]["PrimaryContainer"]["Image"]["Fn::Join"][1][0]
    mapping, region, key = account["Fn::FindInMap"]
    assert region == {"Ref": "AWS::Region"}  # "af-south-1" in the deployed stack
    assert platform_template["Mappings"][mapping][REGION][key] == "626614931356"


def test_grant_invoke_url_gives_a_same_account_role_both_actions_with_conditions(
    granted: dict[str, Any],
) -> None:
    statements = {s["Action"]: s for s in inline_policy_of(granted, "AppRoleDefaultPolicy")}
    assert statements["lambda:InvokeFunctionUrl"]["Condition"] == {
        "StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}
    }
    assert statements["lambda:InvokeFunction"]["Condition"] == {
        "Bool": {"lambda:InvokedViaFunctionUrl": True}
    }
    assert {s["Resource"]["Fn::GetAtt"][0][:19] for s in statements.values()} == {"MistralProxyFunctio"}


def test_grant_invoke_url_gives_another_account_two_resource_permissions(granted: dict[str, Any]) -> None:
    permissions = [
        p["Properties"]
        for p in resources_of(granted, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == OTHER_ACCOUNT
    ]
    by_action = {p["Action"]: p for p in permissions}
    assert sorted(by_action) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "AWS_IAM"
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True


def test_grant_invoke_on_the_endpoint_allows_invoking_its_arn_only(granted: dict[str, Any]) -> None:
    (statement,) = inline_policy_of(granted, "BatchRoleDefaultPolicy")
    assert "sagemaker:InvokeEndpoint" in statement["Action"]
    (endpoint,) = resources_of(granted, "AWS::SageMaker::Endpoint").values()
    name = endpoint["Properties"]["EndpointName"]
    assert statement["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"


def test_the_endpoint_is_an_aws_sagemaker_iendpoint_that_cdk_apis_accept() -> None:
    app = new_app()
    stack, mistral = platform_stack(app, "Gateway")
    api = apigateway.RestApi(stack, "Api")
    api.root.add_method("POST", apigateway.SagemakerIntegration(mistral.endpoint))
    template = app.synth().get_stack_by_name("Gateway").template
    (method,) = resources_of(template, "AWS::ApiGateway::Method").values()
    uri = json.dumps(method["Properties"]["Integration"]["Uri"])
    assert f"endpoints/{mistral.endpoint_name}/invocations" in uri
    assert cdk.Resource.is_resource(mistral.endpoint)


def test_an_imported_endpoint_fronted_by_a_new_proxy_passes_the_packs() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Fronted", env=cdk.Environment(account=ACCOUNT, region=REGION))
    endpoint = MistralModelEndpoint.from_endpoint_attributes(
        stack,
        "Endpoint",
        endpoint_name="team-mistral",
        model=MistralModel.base(),
        max_input_length=4000,
        max_total_tokens=4096,
    )
    proxy = InvokeProxy(stack, "Proxy", endpoint=endpoint)
    template = synth_app(app, "Fronted")
    variables = template["Resources"][stack.get_logical_id(proxy.function.node.default_child)]["Properties"][
        "Environment"
    ]["Variables"]
    assert (variables["ENDPOINT_NAME"], variables["PROMPT_FORMAT"], variables["MAX_TOTAL_TOKENS"]) == (
        "team-mistral",
        "none",
        "4096",
    )
    invoke = [s for s in proxy_statements(template) if s.get("Sid") == "InvokeEndpoint"]
    assert invoke[0]["Resource"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/team-mistral"


def proxy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = resources_of(template, "AWS::IAM::ManagedPolicy").values()
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def test_an_imported_endpoint_has_the_same_metrics_and_grants() -> None:
    stack = cdk.Stack(new_app(), "Metrics")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(
        stack, "Endpoint", endpoint_name="team-mistral", variant_name="Blue"
    )
    metric = endpoint.metric("ModelLatency", statistic="p90", period=cdk.Duration.minutes(1))
    assert (metric.metric_name, metric.statistic, metric.dimensions) == (
        "ModelLatency",
        "p90",
        {"EndpointName": "team-mistral", "VariantName": "Blue"},
    )
    assert endpoint.metric_overhead_latency().metric_name == "OverheadLatency"
    assert endpoint.model == MistralModel.instruct()


def test_an_imported_endpoint_with_impossible_token_limits_is_refused() -> None:
    stack = cdk.Stack(new_app(), "Limits")
    with pytest.raises(
        ConfigurationError, match=r"max_input_length \(4096\) must be less than max_total_tokens"
    ):
        MistralModelEndpoint.from_endpoint_attributes(
            stack, "Endpoint", endpoint_name="team-mistral", max_input_length=4096, max_total_tokens=4096
        )


def test_an_imported_endpoint_with_an_invalid_name_is_refused() -> None:
    stack = cdk.Stack(new_app(), "Name")
    with pytest.raises(ConfigurationError, match="'team_mistral' is not a valid SageMaker endpoint name"):
        MistralModelEndpoint.from_endpoint_attributes(stack, "Endpoint", endpoint_name="team_mistral")


def test_a_teams_own_proxy_role_gets_the_managed_policy_and_the_grants() -> None:
    app = new_app()
    stack = cdk.Stack(app, "OwnRole", env=cdk.Environment(account=ACCOUNT, region=REGION))
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Endpoint", endpoint_name="team-mistral")
    role = iam.Role.from_role_arn(stack, "TeamRole", f"arn:aws:iam::{ACCOUNT}:role/team-proxy", mutable=False)
    proxy = InvokeProxy(stack, "Proxy", endpoint=endpoint, role=role)
    proxy.add_to_role_policy(
        iam.PolicyStatement(sid="ReadConfig", actions=["ssm:GetParameter"], resources=["arn:aws:ssm:*:*:x"])
    )
    s3.Bucket.from_bucket_name(stack, "Docs", "team-docs").grant_read(proxy)
    template = app.synth().get_stack_by_name("OwnRole").template
    assert resources_of(template, "AWS::IAM::Role") == {}
    (policy,) = resources_of(template, "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["Roles"] == ["team-proxy"]
    sids = [s.get("Sid") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert "ReadConfig" in sids
    assert any("s3:GetObject*" in s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"])
    (function,) = resources_of(template, "AWS::Lambda::Function").values()
    assert function["Properties"]["Role"] == f"arn:aws:iam::{ACCOUNT}:role/team-proxy"
