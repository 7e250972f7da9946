"""Fixtures for the invoke proxy: a real botocore SageMaker runtime client, stubbed at botocore seams."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from proxy_helpers import Call, LambdaContext, make_config

from invoke_proxy.config import Config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for the real client; nothing here ever reaches AWS."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", raising=False)


@pytest.fixture
def config() -> Config:
    return make_config()


@pytest.fixture
def client(config: Config) -> Any:
    return create_client(config)


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def proxy(config: Config, client: Any, sleeps: list[float]) -> Proxy:
    return Proxy(config, client, sleep=sleeps.append)


@pytest.fixture
def call(proxy: Proxy) -> Call:
    """Send one function URL event through the real adapter; returns (status, body, headers)."""

    def send(event: dict[str, Any], context: Any = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        result = handle_event(proxy, event, context or LambdaContext())
        return result["statusCode"], json.loads(result["body"]), result["headers"]

    return send
