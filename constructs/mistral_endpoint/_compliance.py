"""Acknowledgements of compliance findings, each with the reason that holds for that resource.

cdk-nag's packs read aws-cdk-lib's own ``Validations`` API (the library itself does not depend on cdk-nag);
checkov, which many security reviews run on the synthesized template instead, reads the resource's
``Metadata.checkov.skip`` list. A finding both report is acknowledged to both, with the same reason.
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

PACKS = ("HIPAA.Security", "NIST.800.53.R5")


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding id, e.g. ``AwsSolutions::AwsSolutions-IAM5[Resource::*]``."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_in_packs(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge a rule that the HIPAA Security and NIST 800-53 rev 5 packs share, e.g. ``LambdaDLQ``."""
    for pack in PACKS:
        acknowledge(construct, f"{pack}::{pack}-{rule}", reason)


def acknowledge_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Acknowledge one checkov check (``CKV_AWS_116``) on ``construct``'s CloudFormation resource.

    Writes ``Metadata: {"checkov": {"skip": [{"id": ..., "comment": reason}]}}``, the form checkov's CloudFormation
    runner reads (checkov 3.3, ``checkov/cloudformation/context_parser.py``, ``collect_skip_comments``). Skips
    already on the resource are kept; acknowledging the same check again replaces its reason.
    """
    found = construct if CfnResource.is_cfn_resource(construct) else construct.node.default_child
    if found is None or not CfnResource.is_cfn_resource(found):
        raise ValueError(f"{construct.node.path} has no CloudFormation resource to acknowledge {check_id} on")
    if not reason.strip():
        raise ValueError(f"{check_id} on {construct.node.path}: an acknowledgement needs a reason")
    resource = cast(CfnResource, found)
    metadata = resource.get_metadata("checkov") or {}
    skips = [skip for skip in metadata.get("skip", []) if skip.get("id") != check_id]
    resource.add_metadata("checkov", {**metadata, "skip": [*skips, {"id": check_id, "comment": reason}]})


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
