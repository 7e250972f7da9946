"""Fixtures for the stack tests (each variant is synthesized once per session, compliance packs on) and for the
streaming tests (the loopback SageMaker runtime stand-in)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from synth_helpers import VARIANTS, template_of

from mistral_client.standin import StandIn


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The default MistralEndpointStack template (cdk.json context, compliance packs clean)."""
    return template_of("default")


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def any_template(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every variant's template, for rules that must hold in all of them."""
    return template_of(request.param)


@pytest.fixture(scope="module")
def runtime() -> Iterator[StandIn]:
    """The streaming SageMaker runtime stand-in on loopback, one per test module."""
    server = StandIn().start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sagemaker(runtime: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    """The stand-in, reset, as the SageMaker runtime of every client the test creates."""
    runtime.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", runtime.url)
    return runtime
