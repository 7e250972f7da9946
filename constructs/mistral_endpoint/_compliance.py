"""Acknowledgements of compliance findings, each with the reason that holds for that resource.

cdk-nag's packs read aws-cdk-lib's own ``Validations`` API (the library itself does not depend on cdk-nag);
checkov, which many security reviews run on the synthesized template instead, reads the resource's
``Metadata.checkov.skip`` list. A finding both report is acknowledged to both, with the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct

PACKS = ("HIPAA.Security", "NIST.800.53.R5")

# Each call below is a round trip to aws-cdk-lib's Node process (jsii), and the build pays for every one: the
# batch forms acknowledge several findings on one construct in one call, with the same metadata entries, in the
# same order, as one call per finding.


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding id, e.g. ``AwsSolutions::AwsSolutions-IAM5[Resource::*]``."""
    acknowledge_all(construct, {finding: reason})


def acknowledge_all(construct: IConstruct, findings: Mapping[str, str]) -> None:
    """Acknowledge several finding ids (id -> reason) on one construct, in one call, in the mapping's order."""
    if findings:
        Validations.of(construct).acknowledge(*(Acknowledgment(id=i, reason=r) for i, r in findings.items()))


def in_packs(rule: str, reason: str) -> dict[str, str]:
    """The finding ids (-> reason) of a rule that the HIPAA Security and NIST 800-53 rev 5 packs share."""
    return {f"{pack}::{pack}-{rule}": reason for pack in PACKS}


def acknowledge_in_packs(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge a rule that the HIPAA Security and NIST 800-53 rev 5 packs share, e.g. ``LambdaDLQ``."""
    acknowledge_all(construct, in_packs(rule, reason))


def acknowledge_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Acknowledge one checkov check (``CKV_AWS_116``) on ``construct``'s CloudFormation resource.

    Writes ``Metadata: {"checkov": {"skip": [{"id": ..., "comment": reason}]}}``, the form checkov's CloudFormation
    runner reads (checkov 3.3, ``checkov/cloudformation/context_parser.py``, ``collect_skip_comments``). Skips
    already on the resource are kept; acknowledging the same check again replaces its reason.
    """
    acknowledge_checkov_all(construct, {check_id: reason})


def acknowledge_checkov_all(construct: IConstruct, checks: Mapping[str, str]) -> None:
    """Acknowledge several checkov checks (id -> reason) on one resource, as one ``acknowledge_checkov`` each."""
    resource = _cfn_resource(construct, ", ".join(checks))
    for check_id, reason in checks.items():
        if not reason.strip():
            raise ValueError(f"{check_id} on {construct.node.path}: an acknowledgement needs a reason")
    metadata = resource.get_metadata("checkov") or {}
    skips = [skip for skip in metadata.get("skip", []) if skip.get("id") not in checks]
    added = [{"id": check_id, "comment": reason} for check_id, reason in checks.items()]
    resource.add_metadata("checkov", {**metadata, "skip": [*skips, *added]})


def _cfn_resource(construct: IConstruct, what: str) -> CfnResource:
    """``construct`` if it is a CloudFormation resource, else its default child; Python's ``isinstance`` first
    (no round trip), then aws-cdk-lib's own test for a resource class Python does not know."""
    if isinstance(construct, CfnResource):
        return construct
    found = construct.node.default_child
    if isinstance(found, CfnResource):
        return found
    if found is not None and CfnResource.is_cfn_resource(found):
        return found  # type: ignore[return-value]
    if CfnResource.is_cfn_resource(construct):
        return construct  # type: ignore[return-value]
    raise ValueError(f"{construct.node.path} has no CloudFormation resource to acknowledge {what} on")


def nag_resource(scope: IConstruct, value: str) -> str:
    """How cdk-nag spells a (tokenized) policy resource in a finding id: ``<AWS::Region>``, ``<Logical.Attr>``."""
    return _flatten(Stack.of(scope).resolve(value))


def nag_resources(scope: IConstruct, values: Sequence[str]) -> list[str]:
    """``nag_resource`` of each value, resolved in one call."""
    resolved = Stack.of(scope).resolve(list(values)) if values else []
    return [_flatten(node) for node in resolved]


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
