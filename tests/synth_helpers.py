"""Synthesis helpers shared by the stack tests: each variant is synthesized once per test session."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from stacks.app_process import NODE_OPTIONS, with_v8_pool_sized

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The session's jsii Node process, and every app.py and cdk the tests start, as app.py runs its own
# (stacks/app_process.py: V8's helper threads sized to the machine).
os.environ[NODE_OPTIONS] = with_v8_pool_sized(os.environ.get(NODE_OPTIONS, ""))

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

REPO = Path(__file__).resolve().parents[1]
CDK_JSON_CONTEXT: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]


def new_app(**context: Any) -> cdk.App:
    """An App configured like `cdk synth` (cdk.App() under pytest does not read cdk.json)."""
    return cdk.App(context={**CDK_JSON_CONTEXT, "aws:cdk:version-reporting": False, **context})


def synth_app(app: cdk.App, stack_name: str) -> dict[str, Any]:
    """Synthesize with the compliance packs (a finding raises) and return one stack's template."""
    from stacks.compliance import add_compliance_packs

    add_compliance_packs(app)
    return app.synth().get_stack_by_name(stack_name).template


def imported_vpc(
    stack: cdk.Stack, azs: list[str], *, subnet_group: str | None = None, construct_id: str = "Vpc"
) -> ec2.IVpc:
    """A team's existing VPC, owned elsewhere: one isolated subnet (and route table) in each AZ given."""
    ids = [f"0a1b2c3d4e5f6789{index}" for index in range(len(azs))]  # 17 hex digits, as AWS issues them
    return ec2.Vpc.from_vpc_attributes(
        stack,
        construct_id,
        vpc_id="vpc-0a1b2c3d4e5f67890",
        availability_zones=azs,
        isolated_subnet_ids=[f"subnet-{i}" for i in ids],
        isolated_subnet_names=[subnet_group] if subnet_group else None,
        isolated_subnet_route_table_ids=[f"rtb-{i}" for i in ids],
    )


def _byo_vpc_app() -> cdk.App:
    """A platform team's stack: its own VPC (isolated subnets, no VPC endpoints yet), role and name."""
    from aws_cdk import aws_iam as iam

    from mistral_endpoint import MistralEndpoint
    from mistral_endpoint.props import NetworkOptions, ServingOptions

    app = new_app()
    stack = cdk.Stack(app, "PlatformStack", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    # The team's existing network, owned by another stack: three isolated subnets in three AZs.
    vpc = imported_vpc(
        stack, ["eu-west-1a", "eu-west-1b", "eu-west-1c"], subnet_group="ml", construct_id="SharedVpc"
    )
    role = iam.Role(stack, "TeamModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    MistralEndpoint(
        stack,
        "Mistral",
        network_options=NetworkOptions(vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_group_name="ml")),
        serving_options=ServingOptions(execution_role=role, endpoint_name="team-mistral"),
    )
    return app


OWN_ALARM_TOPIC = "arn:aws:sns:eu-west-1:111122223333:team-alarms"


def _customised_monitoring_app() -> cdk.App:
    """A team that tunes the alarms: its own topic, a tighter latency alarm, no throttle alarm, an email."""
    from aws_cdk import aws_sns as sns

    from mistral_endpoint import AlarmSettings, MistralEndpoint
    from mistral_endpoint.props import MonitoringOptions

    app = new_app()
    stack = cdk.Stack(app, "TunedStack")
    MistralEndpoint(
        stack,
        "Mistral",
        monitoring_options=MonitoringOptions(
            alarm_topic=sns.Topic.from_topic_arn(stack, "TeamAlarms", OWN_ALARM_TOPIC),
            alarm_email="oncall@example.com",
            alarm_settings={
                "ModelLatencyP90": AlarmSettings(threshold=30, evaluation_periods=3),
                "ProxyServerErrorRate": AlarmSettings(threshold=1, evaluation_periods=10),
                "ProxyThrottles": None,
            },
        ),
    )
    return app


def _stack_app(**context: Any) -> Callable[[], cdk.App]:
    def build() -> cdk.App:
        from app import build_app

        app = new_app(**context, compliance="off")
        return build_app(app)

    return build


VARIANTS: dict[str, tuple[Callable[[], cdk.App], str]] = {
    "default": (_stack_app(), "MistralEndpointStack"),
    "base_model": (_stack_app(model="base"), "MistralEndpointStack"),
    "pinned_region": (_stack_app(region="eu-west-1"), "MistralEndpointStack"),
    "scale_to_zero": (_stack_app(scaleToZero="true"), "MistralEndpointStack"),
    "business_hours": (
        _stack_app(scaleToZero="true", schedule="Europe/Paris 8-19 MON-FRI"),
        "MistralEndpointStack",
    ),
    "byo_vpc": (_byo_vpc_app, "PlatformStack"),
    "monitoring_customised": (_customised_monitoring_app, "TunedStack"),
    "monitoring_off": (_stack_app(monitoring="false"), "MistralEndpointStack"),
    "streaming_off": (_stack_app(streaming=False), "MistralEndpointStack"),
    "private_door": (_stack_app(frontDoor="private"), "MistralEndpointStack"),
    "both_doors": (_stack_app(frontDoor="both"), "MistralEndpointStack"),
    "caller_metrics_off": (_stack_app(callerMetrics="false"), "MistralEndpointStack"),
}


@cache
def template_of(variant: str) -> dict[str, Any]:
    build, stack_name = VARIANTS[variant]
    return synth_app(build(), stack_name)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def only(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = resources_of(template, resource_type).values()
    return resource


@cache
def default_stack() -> cdk.Stack:
    """The default stack's construct tree (not synthesized), for reading construct metadata."""
    build, stack_name = VARIANTS["default"]
    return build().node.find_child(stack_name)  # type: ignore[return-value]


def acknowledgements(construct: Any) -> dict[str, str]:
    """Finding id -> reason, as recorded on one construct by Validations.acknowledge."""
    found: dict[str, str] = {}
    for entry in construct.node.metadata:
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            found.update(entry.data)
    return found
