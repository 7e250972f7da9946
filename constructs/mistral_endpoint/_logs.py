"""Every log group the pattern creates: one place for retention, encryption and removal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from ._compliance import acknowledge_in_packs

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
) -> logs.LogGroup:
    """A log group with a retention, deleted with the stack unless ``removal_policy`` says otherwise."""
    group = logs.LogGroup(
        scope,
        id,
        log_group_name=log_group_name,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )
    if encryption_key is None:
        acknowledge_in_packs(
            group,
            "CloudWatchLogGroupEncrypted",
            "Encrypted at rest by CloudWatch Logs' service keys. A customer-managed key is opt-in "
            "(log_encryption_key) because cdk destroy cannot delete a KMS key: it lingers 7-30 days pending deletion.",
        )
    return group
