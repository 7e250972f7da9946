"""mistral-invoke without botocore says how to install what it needs."""

from __future__ import annotations

import io
import sys

import pytest

from mistral_client import cli, signing


def test_missing_botocore_names_the_distribution_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_botocore(profile: str | None) -> None:
        raise ModuleNotFoundError("No module named 'botocore'", name="botocore")

    monkeypatch.setattr(signing, "make_session", no_botocore)
    err = io.StringIO()
    assert cli.main(["--url", "https://example.lambda-url.us-east-1.on.aws/", "health"], stderr=err) == 1
    assert err.getvalue() == "error: mistral-invoke needs botocore: pip install mistral-endpoint-client\n"


def test_other_missing_modules_are_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(profile: str | None) -> None:
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    monkeypatch.setattr(signing, "make_session", broken)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["--url", "https://example.lambda-url.us-east-1.on.aws/", "health"], stderr=io.StringIO())


def test_serve_without_boto3_names_the_serve_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from invoke_proxy import contract

    for name in (*contract.ENVIRONMENT, "AWS_REGION"):  # serve sets them; restored after the test
        monkeypatch.setenv(name, "")
    for module in [m for m in sys.modules if m == "invoke_proxy" or m.startswith("invoke_proxy.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "boto3", None)  # importing it raises ModuleNotFoundError
    err = io.StringIO()
    assert cli.main(["serve", "--endpoint-name", "e", "--region", "us-east-1"], stderr=err) == 1
    assert (
        err.getvalue() == "error: mistral-invoke needs boto3: pip install 'mistral-endpoint-client[serve]'\n"
    )
