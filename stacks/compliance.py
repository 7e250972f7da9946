"""The compliance packs every synth runs: cdk-nag v3 as CDK policy-validation plugins."""

from __future__ import annotations

from aws_cdk import App, Validations


def add_compliance_packs(app: App) -> None:
    """AwsSolutions, HIPAA Security and NIST 800-53 rev 5. Any unacknowledged finding fails the synth."""
    # Imported here: loading cdk-nag's jsii assembly costs synth time that `-c compliance=off` should not pay.
    from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

    Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app), NIST80053R5Checks(app))
