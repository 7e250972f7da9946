"""mistral-invoke installed without its extra says how to install what it needs."""

from __future__ import annotations

import io

import pytest

from mistral_endpoint import cli


def test_missing_botocore_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_botocore(profile: str | None) -> None:
        raise ModuleNotFoundError("No module named 'botocore'", name="botocore")

    monkeypatch.setattr(cli, "make_session", no_botocore)
    err = io.StringIO()
    assert cli.main(["--url", "https://example.lambda-url.us-east-1.on.aws/", "health"], stderr=err) == 1
    assert err.getvalue() == "error: mistral-invoke needs botocore: pip install 'mistral-endpoint[cli]'\n"


def test_other_missing_modules_are_not_disguised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(profile: str | None) -> None:
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    monkeypatch.setattr(cli, "make_session", broken)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["--url", "https://example.lambda-url.us-east-1.on.aws/", "health"], stderr=io.StringIO())
