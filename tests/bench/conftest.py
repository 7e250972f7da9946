"""Fixtures for mistral-bench: static credentials, the loopback stand-in, a SageMaker runtime client for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest

from mistral_client.bench.targets import EndpointTarget, endpoint_client
from mistral_client.standin import StandIn, TimingModel

# Fast and tiny: these tests check behaviour, not timing (the self-test's tolerance check is its own test).
FAST = TimingModel(
    prefill_base_s=0.002,
    prefill_per_kword_s=0.0,
    token_base_s=0.001,
    token_per_request_s=0.0,
    token_per_kword_s=0.0,
    max_concurrent_requests=4,
    container_timeout_s=5.0,
)


@pytest.fixture(autouse=True)
def static_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    ):
        monkeypatch.delenv(name, raising=False)


StandInFactory = Callable[..., StandIn]


@pytest.fixture
def stand_in_factory() -> Iterator[StandInFactory]:
    """Start a stand-in (``TimingModel`` and options as keywords); all are stopped after the test."""
    started: list[StandIn] = []

    def start(model: TimingModel = FAST, **options: Any) -> StandIn:
        stand_in = StandIn(model, **options).start()
        started.append(stand_in)
        return stand_in

    yield start
    for stand_in in started:
        stand_in.stop()


@pytest.fixture
def stand_in(stand_in_factory: StandInFactory) -> StandIn:
    return stand_in_factory()


def target_for(stand_in: StandIn, timeout: float = 10.0, users: int = 8) -> EndpointTarget:
    session = botocore.session.Session()
    client = endpoint_client(session, "us-east-1", timeout, users, stand_in.url)
    return EndpointTarget(client, stand_in.endpoint_name)
