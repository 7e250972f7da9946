"""The model's execution policy: exactly what SageMaker needs to run the endpoint, and why each wildcard."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._compliance import acknowledge_all, nag_resources
from .model import MistralModel

_WILDCARD_REASON = (
    "Resource * only for actions that support no resource-level permissions: ecr:GetAuthorizationToken, "
    "the ec2:Describe* calls SageMaker makes to place ENIs, and cloudwatch:PutMetricData (limited by a "
    "namespace condition to /aws/sagemaker/*)"
)


def execution_statements(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    subnet_ids: list[str],
    security_group: ec2.ISecurityGroup,
    model: MistralModel,
    log_group_arns: Sequence[str],
    rollback_alarms: Sequence[cloudwatch.IAlarm],
) -> list[iam.PolicyStatement]:
    """Read the weights, write logs and metrics, watch the rollback alarms, manage ENIs (the image's pull
    rights come from the image, :meth:`ServingImage.bind`)."""
    return [
        *model.read_statements(),
        *model.decrypt_statements(),
        iam.PolicyStatement(
            sid="WriteEndpointLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resources=list(log_group_arns),
        ),
        *_watch_rollback_alarms(rollback_alarms),
        iam.PolicyStatement(
            sid="PublishEndpointMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}},
        ),
        *_eni_statements(scope, vpc, subnet_ids, security_group),
    ]


def acknowledge_execution_policy(
    policy: iam.ManagedPolicy, *, subnet_ids: list[str], model: MistralModel
) -> None:
    """The policy's cdk-nag IAM5 findings, each with the reason its wildcard is as narrow as AWS allows."""
    *subnets, objects, enis = nag_resources(
        policy, [*subnet_arns(policy, subnet_ids), model.objects_arn, eni_arn(policy)]
    )
    findings = {"AwsSolutions::AwsSolutions-IAM5[Resource::*]": _WILDCARD_REASON}
    for subnet in subnets:
        findings[f"AwsSolutions::AwsSolutions-IAM5[Resource::{subnet}]"] = (
            "One subnet of the model's, by id, in any account: a VPC shared through AWS RAM belongs to "
            "its owner's account, and subnet ids are unique"
        )
    findings[f"AwsSolutions::AwsSolutions-IAM5[Resource::{objects}]"] = (
        "Read-only GetObject on the objects under the model weights' prefix, and nothing else"
    )
    findings[f"AwsSolutions::AwsSolutions-IAM5[Resource::{enis}]"] = (
        "SageMaker creates the model's ENIs at deploy time, so they have no ARN yet; the Delete and "
        "Permission actions are limited to ENIs in this VPC by the ec2:Vpc condition"
    )
    acknowledge_all(policy, findings)


def _watch_rollback_alarms(alarms: Sequence[cloudwatch.IAlarm]) -> list[iam.PolicyStatement]:
    """An update with auto-rollback reads its alarms with the role SageMaker uses for the endpoint: the
    model's execution role, or the endpoint config's ExecutionRoleArn for inference components (SageMaker
    guide, "Auto-Rollback Configuration and Monitoring": the execution role needs cloudwatch:DescribeAlarms
    on the alarms it names). DescribeAlarms takes alarm ARNs as resources (Service Authorization
    Reference, Amazon CloudWatch)."""
    if not alarms:
        return []
    return [
        iam.PolicyStatement(
            sid="ReadRollbackAlarms",
            actions=["cloudwatch:DescribeAlarms"],
            resources=[alarm.alarm_arn for alarm in alarms],
        )
    ]


def _eni_statements(
    scope: Construct, vpc: ec2.IVpc, subnet_ids: list[str], security_group: ec2.ISecurityGroup
) -> list[iam.PolicyStatement]:
    stack = Stack.of(scope)
    enis = eni_arn(scope)
    return [
        iam.PolicyStatement(
            sid="DescribeNetwork",
            actions=[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="CreateModelEnis",
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                enis,
                stack.format_arn(
                    service="ec2", resource="security-group", resource_name=security_group.security_group_id
                ),
                *subnet_arns(scope, subnet_ids),
            ],
        ),
        iam.PolicyStatement(
            sid="ManageModelEnis",
            actions=[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources=[enis],
            conditions={
                "ArnLike": {
                    "ec2:Vpc": stack.format_arn(
                        service="ec2", resource="vpc", resource_name=vpc.vpc_id, account="*"
                    )
                }
            },
        ),
    ]


def subnet_arns(scope: Construct, subnet_ids: Sequence[str]) -> list[str]:
    # Any account: the subnets of a VPC shared through AWS RAM belong to its owner, not to this stack's account
    # (VPC user guide, "Share your VPC with other accounts"); subnet ids are unique, so the id pins the subnet.
    stack = Stack.of(scope)
    return [
        stack.format_arn(service="ec2", resource="subnet", resource_name=s, account="*") for s in subnet_ids
    ]


def eni_arn(scope: Construct) -> str:
    return Stack.of(scope).format_arn(service="ec2", resource="network-interface", resource_name="*")
