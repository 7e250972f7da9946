"""The function URL target through the real invoke proxy (served locally, as ``mistral-invoke serve`` does) and the
stand-in SageMaker runtime: the proxy accepts the benchmark's parameters and passes TGI's details back."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator

import botocore.session
import pytest
from conftest import FAST, StandInFactory
from function_url_server import make_local_server

from invoke_proxy.config import load_config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client
from mistral_client.bench.sweep import SweepConfig, run_cell
from mistral_client.bench.targets import FunctionUrlTarget
from mistral_client.standin import StandIn


@pytest.fixture
def proxy_url(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, StandIn]]:
    stand_in = stand_in_factory(FAST, short_every=3)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    config = load_config({"ENDPOINT_NAME": stand_in.endpoint_name, "AWS_REGION": "us-east-1"})
    proxy = Proxy(config, create_client(config))
    server = make_local_server("127.0.0.1", 0, lambda event, context: handle_event(proxy, event, context))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", stand_in
    server.shutdown()
    server.server_close()


def test_a_cell_through_the_proxy_verifies_tokens_and_reports_short_answers(
    proxy_url: tuple[str, StandIn],
) -> None:
    url, stand_in = proxy_url
    target = FunctionUrlTarget(url, "us-east-1", botocore.session.Session(), timeout=10)
    config = SweepConfig(output_tokens=6, requests_per_user=2, warmup=1)
    cell = run_cell(target, config, users=2, input_words=32)
    assert cell.figures.errors == 0, cell.figures.errors_by_message
    assert cell.figures.ok == 4
    assert cell.figures.short == sum(1 for r in cell.records if not r.warmup and r.generated_tokens == 3)
    sent = stand_in.bodies[0]
    assert sent["parameters"]["max_new_tokens"] == 6
    assert sent["parameters"]["details"] is True
    assert len(sent["inputs"].split()) == 32


def test_the_proxys_429_reaches_the_benchmark_as_a_429(
    proxy_url: tuple[str, StandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, stand_in = proxy_url
    monkeypatch.setattr(stand_in, "model", dataclasses.replace(FAST, max_concurrent_requests=0))
    target = FunctionUrlTarget(url, "us-east-1", botocore.session.Session(), timeout=10)
    outcome = target.send(
        json.dumps({"inputs": "x", "parameters": {"max_new_tokens": 2}}).encode(), stream=False
    )
    assert (outcome.kind, outcome.status) == ("429", 429)
    assert "Retry-After: 2" in outcome.message


def test_a_streamed_cell_through_the_streaming_proxy_measures_time_to_first_token(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function URL target with --stream, through the HTTP app the Lambda Web Adapter runs."""
    from invoke_proxy.http_server import make_server

    stand_in = stand_in_factory(FAST)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    config = load_config({"ENDPOINT_NAME": stand_in.endpoint_name, "AWS_REGION": "us-east-1"})
    server = make_server(Proxy(config, create_client(config)), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        target = FunctionUrlTarget(url, "us-east-1", botocore.session.Session(), timeout=10)
        sweep = SweepConfig(output_tokens=6, requests_per_user=2, warmup=1, stream=True)
        cell = run_cell(target, sweep, users=2, input_words=32)
    finally:
        server.shutdown()
        server.server_close()
    assert cell.figures.errors == 0, cell.figures.errors_by_message
    measured = [r for r in cell.records if not r.warmup]
    assert len(measured) == 4 and all(r.generated_tokens == 6 for r in measured)
    assert all(r.ttft_s is not None and 0 < r.ttft_s < r.latency_s for r in measured)
    assert cell.figures.ttft_ms_p50 is not None
