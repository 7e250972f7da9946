"""`cdk synth` through the real, pinned CDK CLI: the README's path, compliance packs included."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from synth_helpers import REPO

pytestmark = pytest.mark.slow


def test_pinned_cli_is_the_one_npx_runs() -> None:
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["aws-cdk"]
    installed = json.loads((REPO / "node_modules" / "aws-cdk" / "package.json").read_text())["version"]
    assert installed == pinned


def cdk_synth(output: Path, *context: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    env.pop("AWS_PROFILE", None)
    flags = [arg for pair in context for arg in ("-c", pair)]
    return subprocess.run(
        [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "MistralEndpointStack",
            "--quiet",
            "--output",
            str(output),
            *flags,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


def test_cdk_synth_writes_the_template_with_all_packs_clean(tmp_path: Path) -> None:
    """Also proves that every key the CLI injects into the app's context passes the app's unknown-key check."""
    result = cdk_synth(tmp_path)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "MistralEndpointStack.template.json").read_text())
    assert "AWS::SageMaker::Endpoint" in {r["Type"] for r in template["Resources"].values()}
    report = json.loads((tmp_path / "validation-report.json").read_text())
    packs = {r["pluginName"]: r for r in report["pluginReports"]}
    assert {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"} <= set(packs)
    for name in ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"):
        assert packs[name]["conclusion"] == "success", name
        assert packs[name]["violations"] == [], name
        assert all(len(s["reason"]) >= 60 for s in packs[name]["suppressedViolations"])


def test_cdk_synth_refuses_misspelled_keys_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    result = cdk_synth(tmp_path, "scale_to_zero=true", "maxinstances=1")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    ours, cli = result.stderr.splitlines()  # the app's line, then the CLI's own
    assert ours == (
        "Error: unknown context keys scale_to_zero='true' (did you mean scaleToZero?), "
        "maxinstances='1' (did you mean maxCapacity?)"
    )
    assert cli.endswith("Subprocess exited with error 1")
    assert not (tmp_path / "MistralEndpointStack.template.json").exists()
