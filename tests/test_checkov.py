"""checkov, the scanner many security reviews run instead of cdk-nag, finds nothing unacknowledged in any variant.

checkov lives in its own venv (.venv/checkov, made by `make setup` from requirements-checkov.txt: its pins clash
with the project's). One run scans every variant's template, the props that change its findings, and one
deliberately unacknowledged template that proves a finding would be reported.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from synth_helpers import REPO, VARIANTS, new_app, synth_app, template_of

CHECKOV = REPO / ".venv" / "checkov" / "bin" / "checkov"
#: MistralEndpoint props that change what checkov finds, beyond the app's variants (given the stack).
PROPS_SCANNED: dict[str, Callable[[cdk.Stack], dict[str, Any]]] = {
    "proxy_outside_vpc": lambda stack: {"proxy_in_vpc": False},
    "reserved_concurrency": lambda stack: {"proxy_reserved_concurrent_executions": 50},
    "log_encryption_key": lambda stack: {
        "log_encryption_key": kms.Key(stack, "LogKey", enable_key_rotation=True)
    },
}
#: A log group with no KMS key and no acknowledgement: checkov must report CKV_AWS_158 on it.
UNACKNOWLEDGED = "unacknowledged"
UNACKNOWLEDGED_TEMPLATE = {
    "Resources": {"BareLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}}
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """checkov's JSON report (CloudFormation framework) over a folder of every template scanned."""
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make setup`, which creates checkov's venv")
    folder = tmp_path_factory.mktemp("templates")
    for variant in VARIANTS:
        (folder / f"{variant}.template.json").write_text(json.dumps(template_of(variant)))
    for name in PROPS_SCANNED:
        (folder / f"{name}.template.json").write_text(json.dumps(endpoint_template(name)))
    (folder / f"{UNACKNOWLEDGED}.template.json").write_text(json.dumps(UNACKNOWLEDGED_TEMPLATE))
    command = [str(CHECKOV), "--directory", str(folder), "--framework", "cloudformation", "--output", "json"]
    result = subprocess.run(
        [*command, "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        # No call home: no platform download (--skip-download), no PyPI version check.
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
        check=False,
    )
    # Exit code 1 means failed checks (the unacknowledged template has one); anything else is checkov failing.
    assert result.returncode in (0, 1), result.stderr
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, dict), "one framework gives one report"
    results: dict[str, Any] = parsed["results"]
    return results


def endpoint_template(name: str) -> dict[str, Any]:
    from mistral_endpoint import MistralEndpoint

    app = new_app()
    stack = cdk.Stack(app, "Scanned")
    MistralEndpoint(stack, "Mistral", **PROPS_SCANNED[name](stack))
    return synth_app(app, "Scanned")


def by_variant(checks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for check in checks:
        found[Path(check["file_path"]).name.removesuffix(".template.json")].append(check)
    return found


def test_no_variant_has_a_failed_checkov_check(report: dict[str, Any]) -> None:
    failed = by_variant(report["failed_checks"])
    findings = [
        f"{variant}: {check['check_id']} {check['resource']}"
        for variant, checks in failed.items()
        if variant != UNACKNOWLEDGED
        for check in checks
    ]
    assert findings == []


def test_checkov_reports_an_unacknowledged_finding(report: dict[str, Any]) -> None:
    failed = by_variant(report["failed_checks"])[UNACKNOWLEDGED]
    assert [(check["check_id"], check["resource"]) for check in failed] == [
        ("CKV_AWS_158", "AWS::Logs::LogGroup.BareLogs")
    ]


def test_checkov_parsed_every_variant(report: dict[str, Any]) -> None:
    assert report["parsing_errors"] == []
    assert set(by_variant(report["passed_checks"])) == {*VARIANTS, *PROPS_SCANNED, UNACKNOWLEDGED}


def test_every_checkov_skip_gives_a_reason(report: dict[str, Any]) -> None:
    skipped = report["skipped_checks"]
    assert skipped
    for check in skipped:
        comment = check["check_result"]["suppress_comment"]
        assert len(comment) >= 60, f"{check['check_id']} on {check['resource']}: {comment!r}"


def test_no_two_resources_share_a_checkov_reason(report: dict[str, Any]) -> None:
    # The same resource keeps its reason in every variant; two resources with one reason is a copy-paste.
    resources_by_reason: dict[str, set[str]] = defaultdict(set)
    for check in report["skipped_checks"]:
        resources_by_reason[check["check_result"]["suppress_comment"]].add(check["resource"])
    shared = {
        reason: sorted(resources) for reason, resources in resources_by_reason.items() if len(resources) > 1
    }
    assert shared == {}
