"""What ``mistral-invoke`` says about itself: ``--version``, and help that lists, for each command, only the flags
that command takes, each with its help text."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from cli_helpers import Run

from mistral_client import cli, version

SERVE_FLAGS = {
    "-h",
    "--help",
    "--stack",
    "--url",
    "--door",
    "--service",
    "--api-id",
    "--endpoint-name",
    "--inference-component-name",
    "--profile",
    "--region",
    "--host",
    "--port",
    "--log-prompts",
    "--max-input-length",
    "--max-total-tokens",
    "--default-max-new-tokens",
    "--model-id",
    "--prompt-format",
}


def actions_without_help(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """Every flag, positional and subcommand of ``parser`` and its subcommands whose help is missing."""
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            missing += [f"{name} {choice.dest}" for choice in action._choices_actions if not choice.help]
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    for command, subparser in cli.subcommands(parser).items():
        missing += actions_without_help(subparser, f"{name} {command}")
    return missing


def test_version_prints_the_installed_distributions_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mistral-invoke {metadata.version('mistral-endpoint-client')}\n"


def test_version_from_a_source_tree_that_was_never_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert version.package_version() == (
        "unknown (mistral-endpoint-client is not installed: pip install -e client from the repository)"
    )


def test_the_installed_command_prints_its_version() -> None:
    command = Path(sys.executable).parent / "mistral-invoke"
    result = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout == f"mistral-invoke {metadata.version('mistral-endpoint-client')}\n"


def test_serve_help_lists_only_the_flags_serve_takes() -> None:
    serve = cli.subcommands(cli.build_parser())["serve"]
    assert {flag for action in serve._actions for flag in action.option_strings} == SERVE_FLAGS


def test_a_client_flag_before_serve_is_a_usage_error(capsys: pytest.CaptureFixture[str], run: Run) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--timeout", "5", "serve", "--endpoint-name", "e")
    assert exited.value.code == 2
    assert "--timeout does not apply to serve" in capsys.readouterr().err


def test_a_door_before_serve_applies_to_it() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["--url", "https://a.execute-api.eu-west-1.amazonaws.com/prod/", "serve"])
    cli.reject_flags_the_command_ignores(parser, args)
    assert args.url == "https://a.execute-api.eu-west-1.amazonaws.com/prod/"


def test_stack_profile_and_region_before_serve_still_apply_to_it() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["--stack", "S", "--profile", "p", "--region", "eu-west-1", "serve"])
    cli.reject_flags_the_command_ignores(parser, args)
    assert (args.stack, args.profile, args.region) == ("S", "p", "eu-west-1")


def test_every_flag_of_every_command_has_help_text() -> None:
    assert actions_without_help(cli.build_parser(), "mistral-invoke") == []
