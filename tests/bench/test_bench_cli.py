"""``mistral-bench run`` end to end against the stand-in, and what the command line accepts."""

from __future__ import annotations

import argparse
import ast
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FAST, StandInFactory

from mistral_client.bench import cli
from mistral_client.cli import subcommands

PACKAGE = Path(cli.__file__).parent


def test_a_run_against_the_endpoint_writes_table_csv_json_and_chart(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stand_in = stand_in_factory(FAST)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        [
            "run",
            "--endpoint-name",
            stand_in.endpoint_name,
            "--users",
            "1,2",
            "--input-words",
            "8,16",
            "--output-tokens",
            "4",
            "--requests-per-user",
            "1",
            "--stream",
            "--out",
            str(tmp_path),
            "--instance-label",
            "ml.g5.2xlarge",
        ],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chart.png",
        "requests.json",
        "results.csv",
        "results.md",
    ]
    assert "| mistral-7b | ml.g5.2xlarge | 8 | 4 |" in out.getvalue()
    assert "cell 4/4: 16 words x 2 users" in err.getvalue()
    document = json.loads((tmp_path / "requests.json").read_text())
    assert document["target"] == f"endpoint {stand_in.endpoint_name}"
    # The check request, then (warm-up + measured) x users, per input size.
    assert len(stand_in.requests) == 1 + 2 * (1 + 2) * 2
    assert all(body["stream"] is True for body in stand_in.bodies)


def test_without_botocore_the_command_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore.session", None)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["self-test"], stdout=out, stderr=err) == 1
    assert err.getvalue() == "error: mistral-bench needs botocore: pip install mistral-endpoint-client\n"


def test_user_and_word_lists_must_be_positive_whole_numbers() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--users", "1,zero"])
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--input-words", "0"])
    assert cli.build_parser().parse_args(["run", "--users", "1, 8,64"]).users == (1, 8, 64)


def test_duration_and_request_count_are_alternatives() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["run", "--duration", "30", "--requests-per-user", "5"])


def test_the_bench_package_imports_no_cdk() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(("aws_cdk", "constructs", "cdk_nag")), (
                    f"{path.name}: imports {name}"
                )


def test_the_command_starts_without_loading_the_cdk_botocore_or_matplotlib() -> None:
    code = (
        "import sys; from mistral_client.bench import cli; cli.build_parser(); "
        "print([m for m in ('aws_cdk', 'botocore', 'matplotlib') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "[]"


def test_version_prints_the_installed_distributions_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mistral-bench {metadata.version('mistral-endpoint-client')}\n"


def actions_without_help(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """Every flag, positional and subcommand of ``parser`` and its subcommands whose help is missing."""
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            missing += [f"{name} {choice.dest}" for choice in action._choices_actions if not choice.help]
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    for command, subparser in subcommands(parser).items():
        missing += actions_without_help(subparser, f"{name} {command}")
    return missing


def test_every_flag_of_every_command_has_help_text() -> None:
    assert actions_without_help(cli.build_parser(), "mistral-bench") == []
