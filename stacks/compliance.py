"""The compliance packs every synth runs: cdk-nag v3 as CDK policy-validation plugins."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks


def add_compliance_packs(app: App) -> None:
    """AwsSolutions, HIPAA Security and NIST 800-53 rev 5. Any unacknowledged finding fails the synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app))
