"""Fixtures for the CLI: static credentials, a loopback function URL, the CLI's entry point in-process."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from cli_helpers import ACCESS_KEY, SECRET_KEY, FunctionUrl, Run

from mistral_client import cli


@pytest.fixture(autouse=True)
def static_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[FunctionUrl]:
    server = FunctionUrl().start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def function_url(server: FunctionUrl) -> FunctionUrl:
    server.answers.clear()
    server.requests.clear()
    return server


class FakeStdin(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def run() -> Run:
    """Run ``mistral-invoke`` in-process; returns (exit code, stdout, stderr)."""

    def invoke(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), stdin=FakeStdin(stdin), stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return invoke
