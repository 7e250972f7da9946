"""The public construct API: attributes, grants, metrics, and each part used on its own."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from synth_helpers import imported_vpc, new_app, synth_app

from mistral_endpoint import (
    ConfigurationError,
    InvokeProxy,
    IsolatedNetwork,
    MistralEndpoint,
    MistralModel,
    MistralModelEndpoint,
)


@pytest.fixture(scope="module")
def granted() -> tuple[MistralEndpoint, Template]:
    app = new_app()
    stack = cdk.Stack(app, "Granted")
    mistral = MistralEndpoint(stack, "Mistral")
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    mistral.grant_invoke(caller)
    mistral.grant_invoke_endpoint(caller)
    return mistral, Template.from_stack(stack)


def caller_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("CallerDefaultPolicy")]
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def test_grant_invoke_grants_the_function_url_with_both_actions_aws_requires(
    granted: tuple[MistralEndpoint, Template],
) -> None:
    _, template = granted
    by_action = {
        s["Action"]: s for s in caller_statements(template) if str(s["Action"]).startswith("lambda:")
    }
    assert by_action["lambda:InvokeFunctionUrl"]["Condition"] == {
        "StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}
    }
    assert by_action["lambda:InvokeFunction"]["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": True}}
    for statement in by_action.values():
        assert statement["Resource"]["Fn::GetAtt"][0].startswith("MistralProxyFunction")


def test_grant_invoke_endpoint_is_scoped_to_this_endpoint(granted: tuple[MistralEndpoint, Template]) -> None:
    mistral, template = granted
    (statement,) = [s for s in caller_statements(template) if "sagemaker:InvokeEndpoint" in s["Action"]]
    assert json.dumps(statement["Resource"]).endswith(f':endpoint/{mistral.endpoint_name}"]]}}')


def test_exposes_its_parts(granted: tuple[MistralEndpoint, Template]) -> None:
    mistral, _ = granted
    assert mistral.endpoint_name == mistral.endpoint_name.lower()
    assert len(mistral.endpoint_name) <= 63
    assert mistral.function is mistral.proxy.function
    assert mistral.vpc is mistral.network.vpc
    assert isinstance(mistral.connections, ec2.Connections)
    assert cdk.Token.is_unresolved(mistral.invoke_url)
    assert cdk.Token.is_unresolved(mistral.endpoint_arn)
    assert mistral.model_role is mistral.endpoint.role
    assert mistral.proxy_role is mistral.proxy.role
    assert mistral.function.role is mistral.proxy.grant_principal


def test_custom_role_retention_and_removal_policy_reach_every_part() -> None:
    from aws_cdk import aws_logs as logs

    app = new_app()
    stack = cdk.Stack(app, "Custom")
    role = iam.Role(stack, "TeamRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    MistralEndpoint(
        stack,
        "Mistral",
        role=role,
        log_retention=logs.RetentionDays.THREE_MONTHS,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        proxy_memory_size=1024,
        proxy_reserved_concurrent_executions=20,
    )
    template = synth_app(app, "Custom")
    resources = template["Resources"]
    groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 3
    assert all(g["Properties"]["RetentionInDays"] == 90 and g["DeletionPolicy"] == "Retain" for g in groups)
    (model,) = [r for r in resources.values() if r["Type"] == "AWS::SageMaker::Model"]
    assert model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0].startswith("TeamRole")
    (function,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert (function["Properties"]["MemorySize"], function["Properties"]["ReservedConcurrentExecutions"]) == (
        1024,
        20,
    )


@pytest.mark.parametrize(
    ("method", "namespace", "metric_name"),
    [
        ("metric_model_latency", "AWS/SageMaker", "ModelLatency"),
        ("metric_overhead_latency", "AWS/SageMaker", "OverheadLatency"),
        ("metric_invocations_per_instance", "AWS/SageMaker", "InvocationsPerInstance"),
        ("metric_invocations", "AWS/SageMaker", "Invocations"),
        ("metric_invocation4xx_errors", "AWS/SageMaker", "Invocation4XXErrors"),
        ("metric_invocation5xx_errors", "AWS/SageMaker", "Invocation5XXErrors"),
        ("metric_gpu_utilization", "/aws/sagemaker/Endpoints", "GPUUtilization"),
        ("metric_gpu_memory_utilization", "/aws/sagemaker/Endpoints", "GPUMemoryUtilization"),
    ],
)
def test_metrics_use_the_official_names(
    granted: tuple[MistralEndpoint, Template], method: str, namespace: str, metric_name: str
) -> None:
    mistral, _ = granted
    metric = getattr(mistral, method)()
    assert (metric.namespace, metric.metric_name) == (namespace, metric_name)
    assert metric.dimensions["EndpointName"] == mistral.endpoint_name
    assert metric.dimensions["VariantName"] == "AllTraffic"


def test_proxy_outside_the_vpc_needs_no_runtime_endpoint_rule() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Public")
    MistralEndpoint(stack, "Mistral", proxy_in_vpc=False)
    template = synth_app(app, "Public")
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert "VpcConfig" not in function["Properties"]
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]


def test_existing_vpc_endpoints_are_reused_and_the_proxy_admitted() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Shared", env=cdk.Environment(account="111122223333", region="us-east-1"))
    runtime = ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
        stack,
        "Runtime",
        vpc_endpoint_id="vpce-0123456789abcdef0",
        port=443,
        security_groups=[
            ec2.SecurityGroup.from_security_group_id(stack, "RuntimeSg", "sg-0123456789abcdef0")
        ],
    )
    MistralEndpoint(
        stack,
        "Mistral",
        vpc=imported_vpc(stack, ["us-east-1a", "us-east-1b"]),
        create_vpc_endpoints=False,
        runtime_endpoint=runtime,
    )
    template = synth_app(app, "Shared")
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::EC2::VPCEndpoint" not in types and "AWS::EC2::VPC" not in types
    (ingress,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]
    assert ingress["GroupId"] == "sg-0123456789abcdef0"
    assert ingress["FromPort"] == ingress["ToPort"] == 443
    assert "MistralProxySecurityGroup" in json.dumps(ingress["SourceSecurityGroupId"])


def test_own_weights_are_read_from_the_teams_bucket_and_key() -> None:
    app = new_app()
    stack = cdk.Stack(app, "OwnWeights")
    key = kms.Key(stack, "WeightsKey", enable_key_rotation=True)
    bucket = s3.Bucket.from_bucket_attributes(stack, "Models", bucket_name="team-models", encryption_key=key)
    MistralEndpoint(stack, "Mistral", model=MistralModel.from_bucket(bucket, "mistral-7b-ft/v3/"))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "PrimaryContainer": Match.object_like(
                {
                    "ModelDataSource": {
                        "S3DataSource": Match.object_like({"S3Uri": "s3://team-models/mistral-7b-ft/v3/"})
                    }
                }
            )
        },
    )
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Sid": "DecryptWeights", "Action": "kms:Decrypt"})]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Environment": {"Variables": Match.object_like({"MODEL_ID": "mistral-7b-custom"})}},
    )


def test_reserved_concurrency_caps_the_proxy_and_needs_no_acknowledgement() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Capped")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Endpoint", endpoint_name="team-mistral")
    InvokeProxy(stack, "Proxy", endpoint=endpoint, reserved_concurrent_executions=50)
    template = synth_app(app, "Capped")
    (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["ReservedConcurrentExecutions"] == 50
    assert function["Properties"]["Environment"]["Variables"]["ENDPOINT_NAME"] == "team-mistral"


def test_parts_compose_without_the_whole_pattern() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Parts")
    network = IsolatedNetwork(stack, "Network", model=MistralModel.base())
    hosting = MistralModelEndpoint(
        stack, "Hosting", vpc=network.vpc, model=MistralModel.base(), instance_type="ml.g5.12xlarge"
    )
    proxy = InvokeProxy(stack, "Proxy", endpoint=hosting, vpc=network.vpc)
    network.allow_runtime_from(proxy.connections)
    template = synth_app(app, "Parts")
    (model,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"]
    assert model["Properties"]["PrimaryContainer"]["Environment"]["SM_NUM_GPUS"] == "4"


def test_a_model_named_by_a_string_is_refused_with_the_fix() -> None:
    stack = cdk.Stack(new_app(), "Named")
    with pytest.raises(
        ConfigurationError, match=r"model must be a MistralModel, got 'base': use MistralModel"
    ):
        MistralEndpoint(stack, "Mistral", model="base")  # type: ignore[arg-type]


def test_no_model_means_instruct() -> None:
    mistral = MistralEndpoint(cdk.Stack(new_app(), "Default"), "Mistral")
    assert mistral.model == MistralModel.instruct()
    assert mistral.endpoint.model == MistralModel.instruct()


def test_a_public_function_url_is_flagged() -> None:
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk.assertions import Annotations

    stack = cdk.Stack(new_app(), "Public")
    MistralEndpoint(stack, "Mistral", auth_type=lambda_.FunctionUrlAuthType.NONE)
    Annotations.from_stack(stack).has_warning("/Public/Mistral/Proxy", Match.string_like_regexp("URL public"))
