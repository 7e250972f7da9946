"""The leftover inventory: what the emulator holds of every kind the stack creates, so that destroy can be
shown to leave exactly what bootstrap left."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from .common import check
from .scaling import SCALING_NAMESPACES
from .stack import Clients, Deployed, every

# Resource type -> the inventory kind whose ids are that type's physical ids.
INVENTORIED = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::RouteTable": "route table",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::FlowLog": "flow log",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::IAM::Role": "role",
    "AWS::IAM::ManagedPolicy": "managed policy",
    "AWS::Lambda::Function": "function",
    "AWS::Lambda::Url": "function URL",
    "AWS::ApiGateway::RestApi": "REST API",
    "AWS::Logs::LogGroup": "log group",
    "AWS::SageMaker::Model": "SageMaker model",
    "AWS::SageMaker::EndpointConfig": "endpoint config",
    "AWS::SageMaker::Endpoint": "endpoint",
    "AWS::SageMaker::InferenceComponent": "inference component",
    "AWS::ApplicationAutoScaling::ScalableTarget": "scalable target",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "scaling policy",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::Dashboard": "dashboard",
}


def inventory(clients: Clients) -> dict[str, set[str]]:
    """Every resource of the kinds the stack creates that the emulator holds, as physical ids."""
    ec2, sm, lam = clients.ec2, clients.sagemaker, clients.lam
    functions = every(lam, "list_functions", "Functions")
    urls = set()
    for function in functions:
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.get_function_url_config(FunctionName=function["FunctionName"])
            urls.add(function["FunctionArn"])
    return {
        "stack": {
            s["StackName"]
            for s in every(clients.cfn, "list_stacks", "StackSummaries")
            if s["StackStatus"] != "DELETE_COMPLETE"
        },
        "VPC": {v["VpcId"] for v in every(ec2, "describe_vpcs", "Vpcs")},
        "subnet": {s["SubnetId"] for s in every(ec2, "describe_subnets", "Subnets")},
        "route table": {t["RouteTableId"] for t in every(ec2, "describe_route_tables", "RouteTables")},
        # EC2 lists a deleted endpoint for a while, in state "deleted".
        "VPC endpoint": {
            e["VpcEndpointId"]
            for e in every(ec2, "describe_vpc_endpoints", "VpcEndpoints")
            if e["State"].lower() != "deleted"
        },
        "flow log": {f["FlowLogId"] for f in every(ec2, "describe_flow_logs", "FlowLogs")},
        "security group": {g["GroupId"] for g in every(ec2, "describe_security_groups", "SecurityGroups")},
        "role": {r["RoleName"] for r in every(clients.iam, "list_roles", "Roles")},
        "managed policy": {p["Arn"] for p in every(clients.iam, "list_policies", "Policies", Scope="Local")},
        "function": {f["FunctionName"] for f in functions},
        "function URL": urls,
        # A REST API holds its resources, methods, deployments and stages: they go with it.
        "REST API": {a["id"] for a in every(clients.apigateway, "get_rest_apis", "items")},
        "log group": {g["logGroupName"] for g in every(clients.logs, "describe_log_groups", "logGroups")},
        "SageMaker model": {m["ModelArn"] for m in every(sm, "list_models", "Models")},
        "endpoint config": {
            c["EndpointConfigArn"] for c in every(sm, "list_endpoint_configs", "EndpointConfigs")
        },
        "endpoint": {e["EndpointArn"] for e in every(sm, "list_endpoints", "Endpoints")},
        "inference component": {
            c["InferenceComponentArn"] for c in every(sm, "list_inference_components", "InferenceComponents")
        },
        # CloudFormation's id of a scalable target: ResourceId|ScalableDimension|ServiceNamespace.
        "scalable target": {
            f"{t['ResourceId']}|{t['ScalableDimension']}|{t['ServiceNamespace']}"
            for namespace in SCALING_NAMESPACES
            for t in every(
                clients.scaling, "describe_scalable_targets", "ScalableTargets", ServiceNamespace=namespace
            )
        },
        "scaling policy": {
            p["PolicyARN"]
            for namespace in SCALING_NAMESPACES
            for p in every(
                clients.scaling, "describe_scaling_policies", "ScalingPolicies", ServiceNamespace=namespace
            )
        },
        "alarm": {a["AlarmName"] for a in every(clients.cloudwatch, "describe_alarms", "MetricAlarms")},
        "dashboard": {
            d["DashboardName"] for d in every(clients.cloudwatch, "list_dashboards", "DashboardEntries")
        },
    }


def added(now: Mapping[str, set[str]], baseline: Mapping[str, set[str]]) -> dict[str, set[str]]:
    return {
        kind: ids - baseline.get(kind, set()) for kind, ids in now.items() if ids - baseline.get(kind, set())
    }


def check_inventory_sees(deployed: Deployed, now: Mapping[str, set[str]]) -> None:
    """Each of the stack's resources shows in the inventory, so an empty inventory after destroy means gone."""
    for logical, resource_type in deployed.types.items():
        kind = INVENTORIED.get(resource_type)
        if kind is not None:
            physical = deployed.physical[logical]
            check(physical in now[kind], f"{logical}: {physical} is not among the {kind}s the emulator lists")
