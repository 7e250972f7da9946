"""cfn-lint checks every synthesized template against CloudFormation's resource schemas."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint
from synth_helpers import VARIANTS, template_of

# Regions the templates are checked for: the defaults' home, a region with another ECR account, and the
# pinned variants' region.
REGIONS = ["us-east-1", "af-south-1", "eu-west-1"]
# Scale-to-zero templates refuse regions without inference components (af-south-1 among them): check them
# where they deploy, me-south-1 standing in for a region with another ECR account.
COMPONENT_REGIONS = ["us-east-1", "me-south-1", "eu-west-1"]
REGIONS_BY_VARIANT = {"scale_to_zero": COMPONENT_REGIONS, "business_hours": COMPONENT_REGIONS}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_template_has_no_cfn_lint_errors_or_warnings(variant: str) -> None:
    regions = REGIONS_BY_VARIANT.get(variant, REGIONS)
    matches = lint(json.dumps(template_of(variant)), config=ManualArgs(regions=regions))
    findings = [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]
    assert findings == []


def test_cfn_lint_catches_a_broken_template() -> None:
    broken = template_of("default") | {}
    broken = json.loads(json.dumps(broken))
    config = next(r for r in broken["Resources"].values() if r["Type"] == "AWS::SageMaker::EndpointConfig")
    config["Properties"]["ProductionVariants"][0]["InstanceTypo"] = "ml.g5.2xlarge"
    matches = lint(json.dumps(broken), config=ManualArgs(regions=REGIONS))
    assert any(m.rule.id.startswith("E") for m in matches)
