"""Every log group the pattern creates: one place for retention, encryption and removal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._compliance import acknowledge_checkov, acknowledge_in_packs

if TYPE_CHECKING:  # types only: importing the module costs synth time
    from aws_cdk import aws_kms as kms


def new_log_group(
    scope: Construct,
    id: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
    removal_policy: RemovalPolicy,
    log_group_name: str | None = None,
    holds: str | None = None,
) -> logs.LogGroup:
    """A log group with a retention, deleted with the stack unless ``removal_policy`` says otherwise.

    Without ``encryption_key`` its encryption findings (cdk-nag's CloudWatchLogGroupEncrypted, checkov's
    CKV_AWS_158) are acknowledged with a reason that names what the group ``holds`` (e.g. "VPC flow logs");
    with a key they pass for real.
    """
    group = logs.LogGroup(
        scope,
        id,
        log_group_name=log_group_name,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )
    if encryption_key is None:
        # CloudWatch Logs always encrypts log data at rest ("Encrypt log data in CloudWatch Logs using AWS KMS",
        # CloudWatch Logs user guide); a customer-managed key only changes who controls the key.
        reason = (
            f"{holds or f'The log group {group.node.path}'}: encrypted at rest by CloudWatch Logs' service keys. "
            "A customer-managed key is opt-in (log_encryption_key) because cdk destroy cannot delete a KMS key: "
            "it lingers 7-30 days pending deletion."
        )
        acknowledge_in_packs(group, "CloudWatchLogGroupEncrypted", reason)
        acknowledge_checkov(group, "CKV_AWS_158", reason)
    return group
