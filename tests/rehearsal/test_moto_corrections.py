"""Each moto correction the rehearsal applies: the gap still exists in the installed moto, and the correction
closes it.

A ``test_gap_*`` test failing means moto now behaves like AWS there: delete that correction (and its tests)
from moto_corrections.py. A ``test_fix_*`` test failing means the correction no longer works with this moto.
Everything runs in-process under ``moto.mock_aws``: no server, no network.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import moto
import moto_corrections as corrections
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/rehearsal"


@pytest.fixture(autouse=True)
def emulated_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials, no machine configuration, every call answered by moto in-process."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def create_stack(template: dict[str, Any], name: str = "gap", **kwargs: Any) -> Any:
    cfn = client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), **kwargs)
    return cfn


def outputs(cfn: Any, name: str = "gap") -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def test_corrections_were_checked_with_the_pinned_moto() -> None:
    pins = (ROOT / "requirements-dev.txt").read_text()
    pinned = re.search(r"^moto\[server\]==(\S+)$", pins, re.MULTILINE)
    assert pinned is not None, "requirements-dev.txt must pin moto[server]"
    assert moto.__version__ == pinned.group(1) == corrections.MOTO_VERSION


# ----------------------------------------------------------------------------------- g5 instance types


def create_g5_endpoint_config(instance_type: str = "ml.g5.2xlarge") -> None:
    sagemaker = client("sagemaker")
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "image"})
    sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "InstanceType": instance_type,
                "InitialInstanceCount": 1,
            }
        ],
    )


def test_gap_moto_rejects_g5_instance_types() -> None:
    with pytest.raises(ClientError, match=r"ml\.g5\.2xlarge"):
        create_g5_endpoint_config()


def test_fix_g5_instance_types_are_accepted() -> None:
    with corrections.accept_g5_instance_types():
        create_g5_endpoint_config()
    variants = client("sagemaker").describe_endpoint_config(EndpointConfigName="c")["ProductionVariants"]
    assert variants[0]["InstanceType"] == "ml.g5.2xlarge"


def test_fix_g5_still_rejects_unknown_instance_types() -> None:
    with corrections.accept_g5_instance_types(), pytest.raises(ClientError, match=r"ml\.g5\.3xlarge"):
        create_g5_endpoint_config("ml.g5.3xlarge")


# ------------------------------------------------------------------------------- SageMaker endpoint name


def sagemaker_template(
    environment: dict[str, str] | None = None, endpoint_name: str = "named-endpoint"
) -> dict[str, Any]:
    return {
        "Resources": {
            "Model": {
                "Type": "AWS::SageMaker::Model",
                "Properties": {
                    "ExecutionRoleArn": ROLE_ARN,
                    "PrimaryContainer": {"Image": "image", "Environment": environment or {"A": "1"}},
                },
            },
            "Config": {
                "Type": "AWS::SageMaker::EndpointConfig",
                "Properties": {
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                            "InstanceType": "ml.m5.large",
                            "InitialInstanceCount": 1,
                            "InitialVariantWeight": 1,
                        }
                    ]
                },
            },
            "Endpoint": {
                "Type": "AWS::SageMaker::Endpoint",
                "Properties": {
                    "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
                    "EndpointName": endpoint_name,
                },
            },
        }
    }


def endpoint_names() -> list[str]:
    return [e["EndpointName"] for e in client("sagemaker").list_endpoints()["Endpoints"]]


def test_gap_moto_ignores_the_endpoint_name_in_templates() -> None:
    create_stack(sagemaker_template())
    names = endpoint_names()
    assert len(names) == 1 and names != ["named-endpoint"]


def test_fix_the_endpoint_gets_the_name_in_the_template() -> None:
    with corrections.honour_sagemaker_endpoint_name():
        create_stack(sagemaker_template())
    assert endpoint_names() == ["named-endpoint"]


# ------------------------------------------------------------------------------------- Lambda function URL


def function_url_template(auth_type: str = "AWS_IAM") -> dict[str, Any]:
    return {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"},
                },
            },
            "Url": {
                "Type": "AWS::Lambda::Url",
                "Properties": {
                    "AuthType": auth_type,
                    "TargetFunctionArn": {"Fn::GetAtt": ["Function", "Arn"]},
                },
            },
        },
        "Outputs": {"InvokeUrl": {"Value": {"Fn::GetAtt": ["Url", "FunctionUrl"]}}},
    }


def function_url(cfn: Any) -> dict[str, Any]:
    name = cfn.describe_stack_resource(StackName="gap", LogicalResourceId="Function")["StackResourceDetail"]
    return dict(client("lambda").get_function_url_config(FunctionName=name["PhysicalResourceId"]))


def test_gap_moto_creates_no_function_url_from_templates() -> None:
    with pytest.warns(UserWarning, match="AWS::Lambda::Url but it's not supported"):
        cfn = create_stack(function_url_template() | {"Outputs": {}})
    with pytest.raises(ClientError, match="ResourceNotFound"):
        function_url(cfn)


def test_gap_moto_cannot_resolve_a_function_url_output() -> None:
    with pytest.raises(AttributeError, match="has_cfn_attr"):
        create_stack(function_url_template())


def test_fix_the_function_url_is_created_and_is_the_output() -> None:
    with corrections.create_function_urls_from_templates():
        cfn = create_stack(function_url_template())
        url = function_url(cfn)
    assert url["AuthType"] == "AWS_IAM"
    assert outputs(cfn)["InvokeUrl"] == url["FunctionUrl"]


def test_fix_the_function_url_is_updated_in_place_and_deleted_with_the_stack() -> None:
    with corrections.create_function_urls_from_templates():
        cfn = create_stack(function_url_template())
        before = function_url(cfn)
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(function_url_template(auth_type="NONE")))
        after = function_url(cfn)
        cfn.delete_stack(StackName="gap")
    assert (after["AuthType"], after["FunctionUrl"]) == ("NONE", before["FunctionUrl"])
    assert client("lambda").list_functions()["Functions"] == []


def test_fix_function_urls_leave_moto_as_it_was() -> None:
    with corrections.create_function_urls_from_templates():
        pass
    with pytest.warns(UserWarning, match="AWS::Lambda::Url but it's not supported"):
        cfn = create_stack(function_url_template() | {"Outputs": {}})
    with pytest.raises(ClientError, match="ResourceNotFound"):
        function_url(cfn)


# ---------------------------------------------------------------------------------- change set outputs


def parameter(name: str) -> dict[str, Any]:
    """A resource moto creates, updates and deletes fully: an SSM parameter."""
    return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": "v"}}


SIMPLE_TEMPLATE: dict[str, Any] = {
    "Resources": {"Param": parameter("first")},
    "Outputs": {"Name": {"Value": {"Ref": "Param"}}},
}


def execute_change_set(cfn: Any, template: dict[str, Any], kind: str, **kwargs: Any) -> None:
    name = f"cs-{kind.lower()}"
    cfn.create_change_set(
        StackName="gap", ChangeSetName=name, ChangeSetType=kind, TemplateBody=json.dumps(template), **kwargs
    )
    cfn.execute_change_set(StackName="gap", ChangeSetName=name)


def renamed_parameter() -> dict[str, Any]:
    return SIMPLE_TEMPLATE | {"Resources": {"Param": parameter("second")}}


def test_gap_moto_has_no_outputs_after_a_change_set() -> None:
    cfn = client("cloudformation")
    execute_change_set(cfn, SIMPLE_TEMPLATE, "CREATE")
    assert outputs(cfn) == {}


def test_fix_outputs_follow_each_executed_change_set() -> None:
    cfn = client("cloudformation")
    with corrections.rebuild_outputs_after_change_set():
        execute_change_set(cfn, SIMPLE_TEMPLATE, "CREATE")
        created = outputs(cfn)
        execute_change_set(cfn, renamed_parameter(), "UPDATE")
    assert (created, outputs(cfn)) == ({"Name": "first"}, {"Name": "second"})


# ------------------------------------------------------------------------------ missing change sets


def test_gap_moto_fails_deleting_a_missing_change_set() -> None:
    cfn = create_stack(SIMPLE_TEMPLATE)
    with pytest.raises(UnboundLocalError):
        cfn.delete_change_set(StackName="gap", ChangeSetName="cdk-deploy-change-set")


def test_gap_moto_describes_a_missing_change_set_as_a_missing_stack() -> None:
    cfn = create_stack(SIMPLE_TEMPLATE)
    with pytest.raises(ClientError, match="Stack with id cdk-deploy-change-set does not exist"):
        cfn.describe_change_set(StackName="gap", ChangeSetName="cdk-deploy-change-set")


def test_fix_deleting_a_missing_change_set_does_nothing() -> None:
    cfn = create_stack(SIMPLE_TEMPLATE)
    with corrections.answer_missing_change_sets_like_cloudformation():
        cfn.delete_change_set(StackName="gap", ChangeSetName="cdk-deploy-change-set")


def test_fix_a_missing_change_set_is_change_set_not_found() -> None:
    cfn = create_stack(SIMPLE_TEMPLATE)
    with corrections.answer_missing_change_sets_like_cloudformation(), pytest.raises(ClientError) as raised:
        cfn.describe_change_set(StackName="gap", ChangeSetName="cdk-deploy-change-set")
    assert raised.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_fix_existing_change_sets_are_still_found_and_deleted() -> None:
    cfn = create_stack(SIMPLE_TEMPLATE)
    with corrections.answer_missing_change_sets_like_cloudformation():
        cfn.create_change_set(
            StackName="gap",
            ChangeSetName="cs",
            ChangeSetType="UPDATE",
            TemplateBody=json.dumps(renamed_parameter()),
        )
        assert cfn.describe_change_set(StackName="gap", ChangeSetName="cs")["ChangeSetName"] == "cs"
        cfn.delete_change_set(StackName="gap", ChangeSetName="cs")
        assert cfn.list_change_sets(StackName="gap")["Summaries"] == []


# ------------------------------------------------------------------- change sets of a deleted stack


def recreate_through_a_change_set() -> Any:
    """Create, delete and create again a stack of the same name, each time through a change set of the same
    name (as the CDK does)."""
    cfn = client("cloudformation")
    execute_change_set(cfn, SIMPLE_TEMPLATE, "CREATE")
    cfn.delete_stack(StackName="gap")
    execute_change_set(cfn, renamed_parameter(), "CREATE")
    return cfn


def change_set_stacks(cfn: Any) -> list[str]:
    """The stacks of the change sets listed for stack "gap", and of the one DescribeChangeSet finds by name (with
    the missing-change-set correction, which the rehearsal always applies)."""
    listed = [c["StackId"] for c in cfn.list_change_sets(StackName="gap")["Summaries"]]
    with corrections.answer_missing_change_sets_like_cloudformation():
        described = cfn.describe_change_set(StackName="gap", ChangeSetName="cs-create")["StackId"]
    return [*listed, described]


def test_gap_moto_keeps_the_change_sets_of_a_deleted_stack() -> None:
    cfn = recreate_through_a_change_set()
    current = cfn.describe_stacks(StackName="gap")["Stacks"][0]["StackId"]
    stacks = change_set_stacks(cfn)
    assert len(stacks) == 3 and stacks[-1] != current  # the deleted stack's change set is found first


def test_fix_a_stack_created_again_has_only_its_own_change_set() -> None:
    with corrections.delete_change_sets_with_their_stack(), corrections.rebuild_outputs_after_change_set():
        cfn = recreate_through_a_change_set()
    current = cfn.describe_stacks(StackName="gap")["Stacks"][0]["StackId"]
    assert change_set_stacks(cfn) == [current, current]
    assert outputs(cfn) == {"Name": "second"}


# --------------------------------------------------------------------- SSM-typed parameter on update


def ssm_parameter_template(name: str) -> dict[str, Any]:
    return {
        "Parameters": {
            "BootstrapVersion": {
                "Type": "AWS::SSM::Parameter::Value<String>",
                "Default": "/cdk-bootstrap/version",
            }
        },
        "Resources": {"Param": parameter(name)},
    }


def update_with_previous_bootstrap_version(cfn: Any) -> None:
    execute_change_set(
        cfn,
        ssm_parameter_template("second"),
        "UPDATE",
        Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}],
    )


def test_gap_moto_resolves_an_ssm_parameter_twice_on_update() -> None:
    client("ssm").put_parameter(Name="/cdk-bootstrap/version", Value="33", Type="String")
    cfn = create_stack(ssm_parameter_template("first"))
    # moto looks up a parameter named "33" (the resolved value), finds none, and fails with an HTTP 500.
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'value'"):
        update_with_previous_bootstrap_version(cfn)


def test_fix_an_ssm_parameter_keeps_its_name_on_update() -> None:
    client("ssm").put_parameter(Name="/cdk-bootstrap/version", Value="33", Type="String")
    cfn = create_stack(ssm_parameter_template("first"))
    with corrections.keep_ssm_parameter_names_on_update():
        update_with_previous_bootstrap_version(cfn)
    names = sorted(p["Name"] for p in client("ssm").describe_parameters()["Parameters"])
    assert names == ["/cdk-bootstrap/version", "second"]
    stack = cfn.describe_stacks(StackName="gap")["Stacks"][0]
    assert stack["Parameters"] == [{"ParameterKey": "BootstrapVersion", "ParameterValue": "33"}]


# -------------------------------------------------------------------- dependents of replaced resources


def served_model() -> tuple[str, list[str]]:
    """The model the endpoint's config names, and the models that exist."""
    sagemaker = client("sagemaker")
    config = sagemaker.describe_endpoint(EndpointName="named-endpoint")["EndpointConfigName"]
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    return variants[0]["ModelName"], [m["ModelName"] for m in sagemaker.list_models()["Models"]]


def test_gap_moto_leaves_dependents_on_a_replaced_resource() -> None:
    with corrections.honour_sagemaker_endpoint_name():
        cfn = create_stack(sagemaker_template())
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(sagemaker_template({"A": "2"})))
    named, existing = served_model()
    assert named not in existing


def test_fix_dependents_follow_a_replaced_resource() -> None:
    with corrections.honour_sagemaker_endpoint_name(), corrections.update_dependents_of_replaced_resources():
        cfn = create_stack(sagemaker_template())
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(sagemaker_template({"A": "2"})))
    named, existing = served_model()
    assert existing == [named]
    model = client("sagemaker").describe_model(ModelName=named)
    assert model["PrimaryContainer"]["Environment"] == {"A": "2"}


def test_fix_unreplaced_resources_are_not_touched() -> None:
    template = function_url_template() | {"Outputs": {}}
    with (
        corrections.create_function_urls_from_templates(),
        corrections.update_dependents_of_replaced_resources(),
    ):
        cfn = create_stack(template)
        before = cfn.describe_stack_resource(StackName="gap", LogicalResourceId="Function")
        url_before = function_url(cfn)["FunctionUrl"]
        template["Resources"]["Function"]["Properties"]["MemorySize"] = 256
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(template))
        after = cfn.describe_stack_resource(StackName="gap", LogicalResourceId="Function")
        url_after = function_url(cfn)["FunctionUrl"]
    function_ids = [r["StackResourceDetail"]["PhysicalResourceId"] for r in (before, after)]
    assert function_ids[0] == function_ids[1]
    assert url_before == url_after


def test_references_are_refs_and_getatts() -> None:
    resource = {
        "A": {"Ref": "One"},
        "B": [{"Fn::GetAtt": ["Two", "Arn"]}],
        "C": {"Fn::Join": ["", [{"Ref": "Three"}]]},
    }
    assert corrections._references(resource) == {"One", "Two", "Three"}


# ----------------------------------------------------------------------- network resources on delete


def network_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": "10.0.0.0/24",
                    "AvailabilityZone": "us-east-1a",
                },
            },
            "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Association": {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"RouteTableId": {"Ref": "Table"}, "SubnetId": {"Ref": "Subnet"}},
            },
            "S3": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "ServiceName": "com.amazonaws.us-east-1.s3",
                    "RouteTableIds": [{"Ref": "Table"}],
                },
            },
            "Runtime": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "ServiceName": "com.amazonaws.us-east-1.sagemaker.runtime",
                    "VpcEndpointType": "Interface",
                    "SubnetIds": [{"Ref": "Subnet"}],
                },
            },
            "FlowLog": {
                "Type": "AWS::EC2::FlowLog",
                "Properties": {
                    "ResourceId": {"Ref": "Vpc"},
                    "ResourceType": "VPC",
                    "TrafficType": "ALL",
                    "LogDestinationType": "cloud-watch-logs",
                    "LogGroupName": "flow-logs",
                    "DeliverLogsPermissionArn": ROLE_ARN,
                },
            },
        }
    }


def network_left() -> dict[str, list[str]]:
    ec2 = client("ec2")
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]],
        "route tables": [
            t["RouteTableId"]
            for t in ec2.describe_route_tables()["RouteTables"]
            if not any(a.get("Main") for a in t.get("Associations", []))
        ],
        "endpoints": [
            e["VpcEndpointId"]
            for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
            if e["State"] != "deleted"
        ],
        "flow logs": [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]],
    }


def delete_network_stack() -> Any:
    client("logs").create_log_group(logGroupName="flow-logs")
    cfn = create_stack(network_template())
    cfn.delete_stack(StackName="gap")
    return cfn


@pytest.mark.filterwarnings("ignore:Exception\\(DependencyViolationError\\):UserWarning")
def test_gap_moto_leaves_route_tables_endpoints_and_flow_logs() -> None:
    with pytest.raises(ClientError, match=r"DependencyViolation|has dependencies"):
        delete_network_stack()
    left = network_left()
    assert all(left[kind] for kind in ("vpcs", "route tables", "endpoints", "flow logs")), left


def test_fix_the_network_goes_with_the_stack() -> None:
    with corrections.delete_network_resources_with_stack():
        delete_network_stack()
    assert network_left() == {"vpcs": [], "route tables": [], "endpoints": [], "flow logs": []}


def test_fix_a_broken_delete_is_reported_not_swallowed() -> None:
    def delete(resource: object, account_id: str, region_name: str) -> None:
        raise AttributeError("no such attribute")

    with pytest.raises(corrections.CorrectionError, match="no such attribute"):
        corrections._loud(delete)(object(), "123456789012", REGION)


# --------------------------------------------------------------------------- managed policies on delete

MANAGED_POLICY_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Role": function_url_template()["Resources"]["Role"],
        "Policy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}],
                },
                "Roles": [{"Ref": "Role"}],
            },
        },
    }
}


def iam_left() -> tuple[list[str], list[str]]:
    iam = client("iam")
    return (
        [r["RoleName"] for r in iam.list_roles()["Roles"]],
        [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
    )


def test_gap_moto_leaves_managed_policies_and_their_roles() -> None:
    cfn = create_stack(MANAGED_POLICY_TEMPLATE)
    with pytest.raises(ClientError, match="must detach all policies first"):
        cfn.delete_stack(StackName="gap")
    roles, policies = iam_left()
    assert roles and policies


def test_fix_managed_policies_and_roles_go_with_the_stack() -> None:
    with corrections.delete_managed_policies_with_stack():
        cfn = create_stack(MANAGED_POLICY_TEMPLATE)
        cfn.delete_stack(StackName="gap")
    assert iam_left() == ([], [])


# ------------------------------------------------------------------------ scaling targets and policies

VARIANT_RESOURCE = "endpoint/named-endpoint/variant/AllTraffic"


def scaling_template(max_capacity: int = 2, *, schedule: bool = True) -> dict[str, Any]:
    target: dict[str, Any] = {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Properties": {
            "ServiceNamespace": "sagemaker",
            "ResourceId": VARIANT_RESOURCE,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 1,
            "MaxCapacity": max_capacity,
            "RoleARN": ROLE_ARN,
        },
    }
    if schedule:
        target["Properties"]["ScheduledActions"] = [
            {
                "ScheduledActionName": "WarmUp",
                "Schedule": "cron(0 8 ? * MON-FRI *)",
                "Timezone": "Europe/Paris",
                "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": max_capacity},
            }
        ]
    return {
        "Resources": {
            "Target": target,
            "Policy": {
                "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                "Properties": {
                    "PolicyName": "Concurrency",
                    "PolicyType": "TargetTrackingScaling",
                    "ScalingTargetId": {"Ref": "Target"},
                    "TargetTrackingScalingPolicyConfiguration": {
                        "PredefinedMetricSpecification": {
                            "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"
                        },
                        "TargetValue": 32,
                    },
                },
            },
        },
        "Outputs": {"PolicyArn": {"Value": {"Ref": "Policy"}}},
    }


def scaling_registered() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    scaling = client("application-autoscaling")
    return (
        scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"],
        scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"],
        scaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"],
    )


def test_gap_moto_registers_no_scaling_from_templates() -> None:
    with pytest.warns(UserWarning, match=r"AWS::ApplicationAutoScaling::Scal\w+ but it.s not supported"):
        create_stack(scaling_template() | {"Outputs": {}})
    assert scaling_registered() == ([], [], [])


def test_fix_the_target_policy_and_schedule_are_registered() -> None:
    with corrections.create_scaling_resources_from_templates():
        cfn = create_stack(scaling_template())
    targets, policies, actions = scaling_registered()
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        (VARIANT_RESOURCE, 1, 2)
    ]
    assert [(p["PolicyName"], p["ResourceId"]) for p in policies] == [("Concurrency", VARIANT_RESOURCE)]
    metric = policies[0]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    assert metric["PredefinedMetricType"] == "SageMakerVariantConcurrentRequestsPerModelHighResolution"
    assert outputs(cfn)["PolicyArn"] == policies[0]["PolicyARN"]
    assert [(a["ScheduledActionName"], a["Timezone"]) for a in actions] == [("WarmUp", "Europe/Paris")]
    resources = cfn.describe_stack_resources(StackName="gap")["StackResources"]
    ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    assert ids["Target"] == f"{VARIANT_RESOURCE}|sagemaker:variant:DesiredInstanceCount|sagemaker"


def test_fix_scaling_is_updated_in_place_and_deregistered_with_the_stack() -> None:
    with corrections.create_scaling_resources_from_templates():
        cfn = create_stack(scaling_template())
        arn = outputs(cfn)["PolicyArn"]
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(scaling_template(4, schedule=False)))
        targets, policies, actions = scaling_registered()
        cfn.delete_stack(StackName="gap")
    assert [t["MaxCapacity"] for t in targets] == [4]
    assert [p["PolicyARN"] for p in policies] == [arn]
    assert actions == []
    assert scaling_registered() == ([], [], [])


# ------------------------------------------------------------------------- endpoint updates in place


def endpoint_template(environment: dict[str, str] | None = None) -> dict[str, Any]:
    template = sagemaker_template(environment)
    template["Resources"]["Endpoint"]["Properties"].update(
        DeploymentConfig=DEPLOYMENT_CONFIG,
        RetainAllVariantProperties=True,
        ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DataCaptureConfig"}],
    )
    return template


DEPLOYMENT_CONFIG = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 600},
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 4200,
    }
}


def scale_out_and_update(*patches: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deploy, scale the variant out to 2 (as autoscaling would), update the model; the endpoint before and
    after."""
    sagemaker = client("sagemaker")
    with contextlib.ExitStack() as stack:
        for patch in (
            corrections.honour_sagemaker_endpoint_name,
            corrections.update_dependents_of_replaced_resources,
            *patches,
        ):
            stack.enter_context(patch())
        cfn = create_stack(endpoint_template())
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName="named-endpoint",
            DesiredWeightsAndCapacities=[
                {"VariantName": "AllTraffic", "DesiredWeight": 1.0, "DesiredInstanceCount": 2}
            ],
        )
        before = sagemaker.describe_endpoint(EndpointName="named-endpoint")
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(endpoint_template({"A": "2"})))
    return before, sagemaker.describe_endpoint(EndpointName="named-endpoint")


def test_gap_moto_ignores_the_deployment_config() -> None:
    with corrections.honour_sagemaker_endpoint_name():
        create_stack(endpoint_template())
    assert "LastDeploymentConfig" not in client("sagemaker").describe_endpoint(EndpointName="named-endpoint")


def test_gap_moto_recreates_the_endpoint_on_update_and_resets_its_instances() -> None:
    before, after = scale_out_and_update()
    assert after["CreationTime"] > before["CreationTime"]
    assert after["ProductionVariants"][0]["DesiredInstanceCount"] == 1


def test_fix_the_endpoint_is_updated_in_place_with_its_deployment_config() -> None:
    before, after = scale_out_and_update(corrections.update_endpoints_in_place)
    assert before["LastDeploymentConfig"] == DEPLOYMENT_CONFIG
    assert after["LastDeploymentConfig"] == DEPLOYMENT_CONFIG
    assert after["CreationTime"] == before["CreationTime"]
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    variant = after["ProductionVariants"][0]
    assert (variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]) == (2, 2)


def test_fix_without_retain_the_new_configuration_sets_the_instances() -> None:
    template = endpoint_template({"A": "2"})
    del template["Resources"]["Endpoint"]["Properties"]["RetainAllVariantProperties"]
    with (
        corrections.honour_sagemaker_endpoint_name(),
        corrections.update_dependents_of_replaced_resources(),
        corrections.update_endpoints_in_place(),
    ):
        cfn = create_stack(endpoint_template())
        client("sagemaker").update_endpoint_weights_and_capacities(
            EndpointName="named-endpoint",
            DesiredWeightsAndCapacities=[
                {"VariantName": "AllTraffic", "DesiredWeight": 1.0, "DesiredInstanceCount": 2}
            ],
        )
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(template))
    variant = client("sagemaker").describe_endpoint(EndpointName="named-endpoint")["ProductionVariants"][0]
    assert variant["DesiredInstanceCount"] == 1


# ---------------------------------------------------------------- inference components (scale to zero)

COMPONENT_RESOURCE = "inference-component/named-endpoint"


def register_component_target() -> None:
    client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=COMPONENT_RESOURCE,
        ScalableDimension=corrections.INFERENCE_COMPONENT_DIMENSION,
        MinCapacity=0,
        MaxCapacity=2,
    )


def test_gap_moto_cannot_scale_inference_components() -> None:
    with pytest.raises(ClientError, match="inference-component:DesiredCopyCount"):
        register_component_target()


def test_fix_inference_components_scale_from_zero() -> None:
    with corrections.accept_inference_component_scaling():
        register_component_target()
        targets = client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker", ScalableDimension=corrections.INFERENCE_COMPONENT_DIMENSION
        )["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"]) for t in targets] == [(COMPONENT_RESOURCE, 0)]
    with pytest.raises(ClientError, match="inference-component:DesiredCopyCount"):
        register_component_target()  # undone after


def component_template() -> dict[str, Any]:
    """An inference-component endpoint: the config's variant names no model; the component does."""
    template = sagemaker_template()
    resources = template["Resources"]
    resources["Config"]["Properties"] = {
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
        "ExecutionRoleArn": ROLE_ARN,
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
    }
    resources["Component"] = {
        "Type": "AWS::SageMaker::InferenceComponent",
        "Properties": {
            "InferenceComponentName": "named-endpoint",
            "EndpointName": {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
            "VariantName": "AllTraffic",
            "Specification": {
                "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": 1,
                    "MinMemoryRequiredInMb": 16384,
                },
            },
            "RuntimeConfig": {"CopyCount": 1},
        },
    }
    template["Outputs"] = {"ComponentArn": {"Value": {"Ref": "Component"}}}
    return template


def test_gap_moto_fails_an_endpoint_config_without_a_model() -> None:
    with pytest.raises(KeyError, match="ModelName"):
        client("sagemaker").create_endpoint_config(
            EndpointConfigName="c",
            ProductionVariants=[
                {"VariantName": "v", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
            ],
        )


def test_gap_moto_drops_the_role_and_network_of_an_endpoint_config() -> None:
    template = sagemaker_template()
    template["Resources"]["Config"]["Properties"].update(
        ExecutionRoleArn=ROLE_ARN,
        EnableNetworkIsolation=True,
        VpcConfig={"Subnets": ["s"], "SecurityGroupIds": ["g"]},
    )
    template["Resources"].pop("Endpoint")
    create_stack(template)
    sagemaker = client("sagemaker")
    (config,) = sagemaker.list_endpoint_configs()["EndpointConfigs"]
    described = sagemaker.describe_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
    assert not {"ExecutionRoleArn", "VpcConfig", "EnableNetworkIsolation"} & set(described)


def test_gap_moto_has_no_inference_components() -> None:
    with pytest.raises(NotImplementedError):
        client("sagemaker").list_inference_components()


def test_fix_an_inference_component_endpoint_deploys_and_goes_with_its_stack() -> None:
    sagemaker = client("sagemaker")
    with (
        corrections.honour_sagemaker_endpoint_name(),
        corrections.accept_inference_component_endpoint_configs(),
        corrections.host_inference_components(),
    ):
        cfn = create_stack(component_template())
        config_name = sagemaker.describe_endpoint(EndpointName="named-endpoint")["EndpointConfigName"]
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        component = sagemaker.describe_inference_component(InferenceComponentName="named-endpoint")
        listed = sagemaker.list_inference_components(EndpointNameEquals="named-endpoint")[
            "InferenceComponents"
        ]
        arn, models = (
            outputs(cfn)["ComponentArn"],
            [m["ModelName"] for m in sagemaker.list_models()["Models"]],
        )
        cfn.delete_stack(StackName="gap")
        left = sagemaker.list_inference_components()["InferenceComponents"]
    assert config["ExecutionRoleArn"] == ROLE_ARN
    assert config["EnableNetworkIsolation"] is True
    assert config["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert config["ProductionVariants"][0]["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    assert arn == component["InferenceComponentArn"]
    assert component["EndpointName"] == "named-endpoint"
    assert [component["Specification"]["ModelName"]] == models
    assert component["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
    assert [c["InferenceComponentName"] for c in listed] == ["named-endpoint"]
    assert left == []


def test_fix_an_inference_component_needs_its_endpoint() -> None:
    with corrections.host_inference_components(), pytest.raises(ClientError, match="Could not find endpoint"):
        client("sagemaker").create_inference_component(
            InferenceComponentName="ic",
            EndpointName="missing",
            VariantName="AllTraffic",
            Specification={"ModelName": "m"},
            RuntimeConfig={"CopyCount": 1},
        )


# ---------------------------------------------------------------------------- invocation errors, in order

NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)
NO_CAPACITY_RESULT = {"Error": {"Code": "ValidationError", "Message": NO_CAPACITY, "StatusCode": 400}}


def invoke(body: str = '{"inputs": "hi"}') -> str:
    answer = client("sagemaker-runtime").invoke_endpoint(
        EndpointName="ep", InferenceComponentName="ic", ContentType="application/json", Body=body
    )
    return str(answer["Body"].read().decode())


def test_gap_moto_cannot_queue_an_invocation_error() -> None:
    from moto.moto_api._internal.responses import MotoAPIResponse

    payload = json.dumps({"results": [NO_CAPACITY_RESULT]}).encode()
    request = mock.Mock(environ={"wsgi.input": io.BytesIO(payload)})
    with pytest.raises(KeyError, match="Body"):
        MotoAPIResponse().set_sagemaker_result(request, "", {"Content-Length": str(len(payload))})


def test_gap_moto_answers_a_repeated_request_with_its_first_answer() -> None:
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    queue: list[Any] = sagemakerruntime_backends["123456789012"][REGION].results_queue
    queue.extend([("first", "application/json", None, None), ("second", "application/json", None, None)])
    assert [invoke(), invoke()] == ["first", "first"]


def test_fix_a_retried_request_sees_no_capacity_then_the_model() -> None:
    with corrections.answer_each_invocation_from_the_queue():
        corrections.queue_endpoint_results(
            "123456789012", REGION, [NO_CAPACITY_RESULT, {"Body": "[{}]", "ContentType": "application/json"}]
        )
        with pytest.raises(ClientError) as raised:
            invoke()
        answer = invoke()
    error = raised.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("ValidationError", NO_CAPACITY)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert answer == "[{}]"


def test_fix_an_empty_queue_falls_back_to_motos_answer() -> None:
    with corrections.answer_each_invocation_from_the_queue():
        assert invoke() == "body"


# ------------------------------------------------------------------------------ another account's layer

WEB_ADAPTER_LAYER = "arn:aws:lambda:us-east-1:753240598075:layer:LambdaAdapterLayerX86:26"


def create_function_with_layer(layer: str) -> Any:
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("run.sh", "#!/bin/sh\n")
    iam = client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = client("lambda")
    lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="run.sh",
        Code={"ZipFile": code.getvalue()},
        Layers=[layer],
    )
    return lam


def test_gap_moto_refuses_another_accounts_layer_version() -> None:
    with pytest.raises(ClientError, match="LayerVersion does not exist"):
        create_function_with_layer(WEB_ADAPTER_LAYER)


def test_fix_another_accounts_layer_version_is_accepted_and_updated() -> None:
    with corrections.accept_other_accounts_layer_versions():
        lam = create_function_with_layer(WEB_ADAPTER_LAYER)
        lam.update_function_configuration(FunctionName="fn", Layers=[WEB_ADAPTER_LAYER])
    layers = lam.get_function_configuration(FunctionName="fn")["Layers"]
    assert [layer["Arn"] for layer in layers] == [WEB_ADAPTER_LAYER]


def test_fix_an_unknown_layer_version_of_the_own_account_is_still_refused() -> None:
    own = "arn:aws:lambda:us-east-1:123456789012:layer:Missing:1"
    with (
        corrections.accept_other_accounts_layer_versions(),
        pytest.raises(ClientError, match="does not exist"),
    ):
        create_function_with_layer(own)


# ---------------------------------------------------------------------------------------- all at once


def test_every_correction_is_applied_by_the_server_and_undone_after() -> None:
    names = {patch.__name__ for patch in corrections.EMULATOR_PATCHES}
    assert names == {
        "accept_g5_instance_types",
        "honour_sagemaker_endpoint_name",
        "create_function_urls_from_templates",
        "create_metric_alarms_from_templates",
        "apply_topic_policies_from_templates",
        "rebuild_outputs_after_change_set",
        "answer_missing_change_sets_like_cloudformation",
        "delete_change_sets_with_their_stack",
        "keep_ssm_parameter_names_on_update",
        "update_dependents_of_replaced_resources",
        "delete_network_resources_with_stack",
        "delete_managed_policies_with_stack",
        "create_scaling_resources_from_templates",
        "update_endpoints_in_place",
        "accept_inference_component_scaling",
        "accept_inference_component_endpoint_configs",
        "host_inference_components",
        "answer_each_invocation_from_the_queue",
        "accept_other_accounts_layer_versions",
        "create_added_resources_in_dependency_order",
        "create_api_stages_from_templates",
        "refer_to_api_deployments_by_id",
        "keep_rest_api_policies_and_endpoint_types",
        "delete_rest_apis_with_stack",
        "keep_streaming_integrations",
    }
    with corrections.emulator_patches():
        create_g5_endpoint_config()
    with pytest.raises(ClientError, match=r"ml\.g5\.2xlarge"):
        client("sagemaker").create_endpoint_config(
            EndpointConfigName="again",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "m",
                    "InstanceType": "ml.g5.2xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
        )


# ------------------------------------------------------------------------------------ CloudWatch metric alarms


def alarm_template(threshold: float = 1) -> dict[str, Any]:
    return {
        "Resources": {
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "gap-5xx",
                    "Namespace": "AWS/SageMaker",
                    "MetricName": "Invocation5XXErrors",
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 2,
                    "Threshold": threshold,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                },
            },
            "RateAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "gap-rate",
                    "EvaluationPeriods": 5,
                    "Threshold": 5,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "Metrics": [
                        {"Id": "rate", "Expression": "100 * errors / invocations", "ReturnData": True},
                        {
                            "Id": "errors",
                            "ReturnData": False,
                            "MetricStat": {
                                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocation4XXErrors"},
                                "Period": 60,
                                "Stat": "Sum",
                            },
                        },
                    ],
                },
            },
        },
        "Outputs": {"AlarmArn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}}},
    }


def alarms() -> dict[str, Any]:
    return {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}


def test_fix_an_unnamed_alarm_keeps_its_generated_name_through_an_update() -> None:
    def unnamed(threshold: float) -> dict[str, Any]:
        template = alarm_template(threshold)
        del template["Resources"]["Alarm"]["Properties"]["AlarmName"]
        return template

    with corrections.create_metric_alarms_from_templates():
        cfn = create_stack(unnamed(1))
        before = set(alarms())
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(unnamed(4)))
        after = alarms()
    assert set(after) == before
    assert sorted(a["Threshold"] for a in after.values()) == [4.0, 5.0]


def test_gap_moto_creates_no_alarm_from_templates() -> None:
    with pytest.warns(UserWarning, match="AWS::CloudWatch::Alarm but it's not supported"):
        create_stack(alarm_template() | {"Outputs": {}})
    assert alarms() == {}


def test_fix_alarms_are_created_updated_and_deleted_with_the_stack() -> None:
    with corrections.create_function_urls_from_templates(), corrections.create_metric_alarms_from_templates():
        cfn = create_stack(alarm_template())
        created = alarms()
        assert set(created) == {"gap-5xx", "gap-rate"}
        assert outputs(cfn)["AlarmArn"] == created["gap-5xx"]["AlarmArn"]
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(alarm_template(threshold=3)))
        assert alarms()["gap-5xx"]["Threshold"] == 3
        cfn.delete_stack(StackName="gap")
        assert alarms() == {}


# ------------------------------------------------------------------------------------------ SNS topic policy

TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": {"Ref": "Topic"},
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def topic_policy_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "gap-alarms"}},
            "Policy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": TLS_ONLY},
            },
        }
    }


def topic_policy() -> dict[str, Any]:
    (topic,) = client("sns").list_topics()["Topics"]
    attributes = client("sns").get_topic_attributes(TopicArn=topic["TopicArn"])["Attributes"]
    return json.loads(attributes["Policy"])


def test_gap_moto_ignores_topic_policies_in_templates() -> None:
    with pytest.warns(UserWarning, match="AWS::SNS::TopicPolicy but it's not supported"):
        create_stack(topic_policy_template())
    assert topic_policy()["Id"] == "__default_policy_ID"


def test_fix_the_topic_gets_the_template_policy() -> None:
    with corrections.apply_topic_policies_from_templates():
        cfn = create_stack(topic_policy_template())
        (statement,) = topic_policy()["Statement"]
        assert statement["Sid"] == "TlsOnly" and statement["Resource"].endswith(":gap-alarms")
        resources = cfn.describe_stack_resources(StackName="gap")["StackResources"]
        assert {r["LogicalResourceId"] for r in resources} == {"Topic", "Policy"}
        cfn.delete_stack(StackName="gap")
        assert client("sns").list_topics()["Topics"] == []


# ------------------------------------------------------------------------- the private REST API (API Gateway)

STREAMING_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:proxy/response-streaming-invocations"
)
ACCESS_LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:access"
PRIVATE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": ["vpce-0123456789abcdef0"]}},
        }
    ],
}


def rest_api_template(rate_limit: int = 10, *, stage: bool = True) -> dict[str, Any]:
    """A private REST API as the CDK writes it: the deployment before the method it depends on (template
    order), a streaming Lambda proxy integration, a stage with access logs and method settings."""
    resources: dict[str, Any] = {
        "Api": {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": "gap",
                "EndpointConfiguration": {"Types": ["PRIVATE"]},
                "Policy": PRIVATE_POLICY,
            },
        },
        "Deployment": {
            "Type": "AWS::ApiGateway::Deployment",
            "Properties": {"RestApiId": {"Ref": "Api"}},
            "DependsOn": ["HealthGet"],
        },
        "Health": {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": "health",
                "RestApiId": {"Ref": "Api"},
            },
        },
        "HealthGet": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "AuthorizationType": "AWS_IAM",
                "HttpMethod": "GET",
                "ResourceId": {"Ref": "Health"},
                "RestApiId": {"Ref": "Api"},
                "Integration": {
                    "IntegrationHttpMethod": "POST",
                    "ResponseTransferMode": "STREAM",
                    "TimeoutInMillis": 300000,
                    "Type": "AWS_PROXY",
                    "Uri": STREAMING_URI,
                },
            },
        },
    }
    template_outputs: dict[str, Any] = {"Deployment": {"Value": {"Ref": "Deployment"}}}
    if stage:
        resources["Stage"] = {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {
                "RestApiId": {"Ref": "Api"},
                "DeploymentId": {"Ref": "Deployment"},
                "StageName": "prod",
                "TracingEnabled": True,
                "AccessLogSetting": {
                    "DestinationArn": ACCESS_LOGS,
                    "Format": '{"requestId": "$context.requestId"}',
                },
                "MethodSettings": [
                    {
                        "HttpMethod": "*",
                        "ResourcePath": "/*",
                        "LoggingLevel": "OFF",
                        "DataTraceEnabled": False,
                        "ThrottlingBurstLimit": 20,
                        "ThrottlingRateLimit": rate_limit,
                    }
                ],
            },
        }
        template_outputs["Url"] = {
            "Value": {
                "Fn::Join": [
                    "",
                    [
                        "https://",
                        {"Ref": "Api"},
                        ".execute-api.us-east-1.amazonaws.com/",
                        {"Ref": "Stage"},
                        "/",
                    ],
                ]
            }
        }
    return {"Resources": resources, "Outputs": template_outputs}


@contextlib.contextmanager
def api_gateway_corrections() -> Iterator[None]:
    """The corrections a CDK RestApi needs together (the stage names the deployment by its id)."""
    with (
        corrections.create_api_stages_from_templates(),
        corrections.refer_to_api_deployments_by_id(),
        corrections.keep_rest_api_policies_and_endpoint_types(),
        corrections.keep_streaming_integrations(),
    ):
        yield


def rest_api() -> dict[str, Any]:
    (api,) = client("apigateway").get_rest_apis()["items"]
    return dict(api)


def health_integration() -> dict[str, Any]:
    api = rest_api()
    (health,) = [
        r for r in client("apigateway").get_resources(restApiId=api["id"])["items"] if r["path"] == "/health"
    ]
    return dict(
        client("apigateway").get_integration(restApiId=api["id"], resourceId=health["id"], httpMethod="GET")
    )


def test_gap_moto_creates_a_change_sets_resources_in_template_order() -> None:
    # moto answers the API Gateway error in JSON, which CloudFormation's XML parser cannot read (nor the CDK's).
    with pytest.raises(ResponseParserError, match="contain any methods"):
        execute_change_set(client("cloudformation"), rest_api_template(stage=False), "CREATE")


def test_fix_a_change_sets_resources_come_after_those_they_depend_on() -> None:
    with corrections.create_added_resources_in_dependency_order():
        execute_change_set(client("cloudformation"), rest_api_template(stage=False), "CREATE")
    assert len(client("apigateway").get_deployments(restApiId=rest_api()["id"])["items"]) == 1


def test_dependency_order_puts_dependencies_first_and_keeps_template_order_otherwise() -> None:
    resources = {
        "A": {"DependsOn": ["C"]},
        "B": {},
        "C": {"DependsOn": "D"},
        "D": {},
        "E": {"DependsOn": ["X"]},
    }
    assert corrections._in_dependency_order(["A", "B", "C", "D", "E"], resources) == ["D", "C", "A", "B", "E"]


def test_gap_moto_creates_no_stage_from_templates() -> None:
    with pytest.warns(UserWarning, match="AWS::ApiGateway::Stage but it's not supported"):
        cfn = create_stack(rest_api_template())
        url = outputs(cfn)["Url"]  # moto parses the template again to resolve the outputs
    assert client("apigateway").get_stages(restApiId=rest_api()["id"])["item"] == []
    assert url.endswith("/None/")


def test_fix_the_stage_is_created_on_the_deployment_with_its_logs_and_settings() -> None:
    with api_gateway_corrections():
        cfn = create_stack(rest_api_template())
        api = rest_api()
        (stage,) = client("apigateway").get_stages(restApiId=api["id"])["item"]
        stack_outputs = outputs(cfn)  # resolved when read
    assert stage["deploymentId"] == stack_outputs["Deployment"]
    assert stage["accessLogSettings"] == {
        "destinationArn": ACCESS_LOGS,
        "format": '{"requestId": "$context.requestId"}',
    }
    settings = stage["methodSettings"]["*/*"]
    assert (settings["loggingLevel"], settings["dataTraceEnabled"]) == ("OFF", False)
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (10.0, 20)
    assert stage["tracingEnabled"] is True
    assert stack_outputs["Url"] == f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/prod/"


def test_fix_the_stage_is_updated_in_place_and_deleted_with_the_stack() -> None:
    with api_gateway_corrections():
        cfn = create_stack(rest_api_template())
        api_id = rest_api()["id"]
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(rest_api_template(rate_limit=5)))
        (stage,) = client("apigateway").get_stages(restApiId=api_id)["item"]
        cfn.delete_stack(StackName="gap")
    assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == 5.0
    # The API itself stays (moto's gap, delete_rest_apis_with_stack); its stage went with the stack.
    assert client("apigateway").get_stages(restApiId=api_id)["item"] == []


def stack_ids(cfn: Any) -> dict[str, str]:
    resources = cfn.list_stack_resources(StackName="gap")["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources}


def test_gap_moto_gives_a_deployment_no_id_in_the_stack() -> None:
    cfn = create_stack(rest_api_template(stage=False))
    assert stack_ids(cfn)["Deployment"] == ""
    assert outputs(cfn)["Deployment"].startswith("<moto.apigateway.models.Deployment object")


def test_fix_a_deployment_is_named_by_its_id_and_goes_with_the_template() -> None:
    with corrections.refer_to_api_deployments_by_id():
        cfn = create_stack(rest_api_template(stage=False))
        api_id = rest_api()["id"]
        (deployment,) = client("apigateway").get_deployments(restApiId=api_id)["items"]
        ids = (stack_ids(cfn)["Deployment"], outputs(cfn)["Deployment"])
        without = rest_api_template(stage=False)
        del without["Resources"]["Deployment"]
        cfn.update_stack(StackName="gap", TemplateBody=json.dumps(without | {"Outputs": {}}))
    assert ids == (deployment["id"], deployment["id"])
    assert client("apigateway").get_deployments(restApiId=api_id)["items"] == []


def test_gap_moto_drops_the_policy_and_endpoint_type_of_a_rest_api() -> None:
    create_stack(rest_api_template(stage=False))
    api = rest_api()
    assert "policy" not in api
    assert api["endpointConfiguration"] == {}


def test_fix_a_rest_api_keeps_its_policy_and_endpoint_type() -> None:
    with corrections.keep_rest_api_policies_and_endpoint_types():
        create_stack(rest_api_template(stage=False))
    api = rest_api()
    assert json.loads(api["policy"]) == PRIVATE_POLICY
    assert api["endpointConfiguration"] == {"types": ["PRIVATE"]}


def test_gap_moto_leaves_a_rest_api_after_its_stack() -> None:
    cfn = create_stack(rest_api_template(stage=False))
    cfn.delete_stack(StackName="gap")
    assert client("apigateway").get_rest_apis()["items"] != []


def test_fix_a_rest_api_goes_with_its_stack() -> None:
    with corrections.delete_rest_apis_with_stack():
        cfn = create_stack(rest_api_template(stage=False))
        cfn.delete_stack(StackName="gap")
    assert client("apigateway").get_rest_apis()["items"] == []


def test_gap_moto_drops_the_transfer_mode_and_timeout_of_an_integration() -> None:
    create_stack(rest_api_template(stage=False))
    integration = health_integration()
    assert "responseTransferMode" not in integration
    assert "timeoutInMillis" not in integration
    assert integration["uri"] == STREAMING_URI  # the streaming invocation's URI itself is kept


def test_gap_put_integration_drops_the_transfer_mode() -> None:
    create_stack(rest_api_template(stage=False))
    api_id = rest_api()["id"]
    (health,) = [
        r for r in client("apigateway").get_resources(restApiId=api_id)["items"] if r["path"] == "/health"
    ]
    client("apigateway").put_integration(
        restApiId=api_id,
        resourceId=health["id"],
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=STREAMING_URI,
        responseTransferMode="STREAM",
    )
    assert "responseTransferMode" not in health_integration()


def test_fix_a_template_integration_keeps_stream_mode_and_its_timeout() -> None:
    with corrections.keep_streaming_integrations():
        create_stack(rest_api_template(stage=False))
        integration = health_integration()
    assert (integration["responseTransferMode"], integration["timeoutInMillis"]) == ("STREAM", 300000)


def test_fix_put_integration_keeps_the_transfer_mode_and_buffered_is_the_default() -> None:
    with corrections.keep_streaming_integrations():
        create_stack(rest_api_template(stage=False))
        api_id = rest_api()["id"]
        resources = client("apigateway").get_resources(restApiId=api_id)["items"]
        (health,) = [r for r in resources if r["path"] == "/health"]
        modes = []
        for mode in ("STREAM", None):
            client("apigateway").put_integration(
                restApiId=api_id,
                resourceId=health["id"],
                httpMethod="GET",
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=STREAMING_URI,
                **({"responseTransferMode": mode} if mode else {}),
            )
            modes.append(health_integration()["responseTransferMode"])
    assert modes == ["STREAM", "BUFFERED"]
