"""The deployed stack, read back through the emulator's APIs (not from the template), and its published asset."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from .common import ACCOUNT, REGION, STACK, RehearsalError, check


@dataclass
class Deployed:
    """What the stack holds, read back through the emulator's APIs."""

    template: dict[str, Any]
    physical: dict[str, str]  # logical id -> physical id
    types: dict[str, str]  # logical id -> resource type
    outputs: dict[str, str]

    def template_default_max_new_tokens(self) -> int:
        for resource in self.template["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                return int(resource["Properties"]["Environment"]["Variables"]["DEFAULT_MAX_NEW_TOKENS"])
        raise RehearsalError("no Lambda function in the template")

    def ids(self, resource_type: str) -> list[str]:
        return sorted(self.physical[k] for k, t in self.types.items() if t == resource_type)

    def one(self, resource_type: str) -> str:
        ids = self.ids(resource_type)
        check(len(ids) == 1, f"expected one {resource_type}, the stack has {ids}")
        return ids[0]

    def properties(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> template properties of every resource of that type."""
        return {
            k: dict(v.get("Properties", {}))
            for k, v in self.template["Resources"].items()
            if v["Type"] == resource_type
        }

    @property
    def doors(self) -> frozenset[str]:
        """The ways in the template builds: ``url`` (the function URL), ``private`` (the private REST API)."""
        types = {v["Type"] for v in self.template["Resources"].values()}
        return frozenset(
            door
            for door, resource_type in (("url", "AWS::Lambda::Url"), ("private", "AWS::ApiGateway::RestApi"))
            if resource_type in types
        )

    @property
    def inference_component_name(self) -> str | None:
        """The inference component serving the model (scale-to-zero mode), or None."""
        return self.outputs.get("InferenceComponentName")

    def by_path(self, path_part: str, resource_type: str) -> str:
        """The physical id of the resource of that type whose CDK path contains ``path_part``."""
        matches = [
            self.physical[k]
            for k, t in self.types.items()
            if t == resource_type
            and path_part in self.template["Resources"][k].get("Metadata", {}).get("aws:cdk:path", "")
        ]
        check(len(matches) == 1, f"expected one {resource_type} under {path_part!r}, found {matches}")
        return matches[0]


def read_stack(clients: Clients) -> Deployed:
    cfn = clients.cfn
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    template = cfn.get_template(StackName=STACK)["TemplateBody"]
    if isinstance(template, str):
        template = json.loads(template)
    physical: dict[str, str] = {}
    types: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=STACK):
        for summary in page["StackResourceSummaries"]:
            logical = summary.get("LogicalResourceId", "")
            if logical:
                physical[logical] = summary.get("PhysicalResourceId", "")
                types[logical] = summary["ResourceType"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    return Deployed(template, physical, types, outputs)


@dataclass
class Clients:
    cfn: Any
    ec2: Any
    iam: Any
    lam: Any
    logs: Any
    s3: Any
    sagemaker: Any
    scaling: Any
    cloudwatch: Any
    apigateway: Any

    @classmethod
    def create(cls) -> Clients:
        session = boto3.Session()
        names = {
            "cfn": "cloudformation",
            "ec2": "ec2",
            "iam": "iam",
            "lam": "lambda",
            "logs": "logs",
            "s3": "s3",
            "sagemaker": "sagemaker",
            "scaling": "application-autoscaling",
            "cloudwatch": "cloudwatch",
            "apigateway": "apigateway",
        }
        return cls(**{attr: session.client(service) for attr, service in names.items()})


def every(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """All items of a list/describe call, page after page (boto3's paginator; every call used here has one)."""
    check(client.can_paginate(operation), f"{operation} has no paginator: it would read only one page")
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


def asset_zip(clients: Clients, deployed: Deployed) -> bytes:
    """The proxy's code as the CLI published it to the bootstrap bucket (the key the template names)."""
    logical = next(k for k, t in deployed.types.items() if t == "AWS::Lambda::Function")
    code = deployed.template["Resources"][logical]["Properties"]["Code"]
    bucket = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    return bytes(clients.s3.get_object(Bucket=bucket, Key=code["S3Key"])["Body"].read())


def unpack_function_code(clients: Clients, deployed: Deployed, target: Path) -> Path:
    zipfile.ZipFile(io.BytesIO(asset_zip(clients, deployed))).extractall(target)
    return target
