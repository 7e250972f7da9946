"""Acknowledgements of compliance-pack findings, each with the reason that holds for that resource.

They use aws-cdk-lib's own ``Validations`` API, which cdk-nag v3 (and any other validation plugin)
reads; the library itself does not depend on cdk-nag.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

PACKS = ("HIPAA.Security", "NIST.800.53.R5")


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding id, e.g. ``AwsSolutions::AwsSolutions-IAM5[Resource::*]``."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_in_packs(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge a rule that the HIPAA Security and NIST 800-53 rev 5 packs share, e.g. ``LambdaDLQ``."""
    for pack in PACKS:
        acknowledge(construct, f"{pack}::{pack}-{rule}", reason)


def nag_resource(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells a (tokenized) policy resource in a finding id: ``<AWS::Region>``, ``<Logical.Attr>``."""
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return str(separator).join(_flatten(part) for part in parts)
    if isinstance(node, dict) and "Ref" in node:
        return f"<{node['Ref']}>"
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        return "<{}.{}>".format(*node["Fn::GetAtt"])
    raise ValueError(f"cannot spell {node!r} as cdk-nag does")
