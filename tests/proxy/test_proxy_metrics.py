"""Token metrics in CloudWatch's embedded metric format: one stdout line per model request, exactly shaped."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.stub import Stubber
from proxy_helpers import (
    CALLER,
    ENDPOINT,
    LambdaContext,
    make_config,
    queue_answer,
    queue_error,
    queue_model_error,
    tgi_answer,
    url_event,
)

from invoke_proxy import metrics
from invoke_proxy.core import ROUTES, Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client

SECRET_PROMPT = "my secret prompt text"
SECRET_COMPLETION = "the secret completion"


def emf_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines(keepends=True) if '"_aws"' in line]


def the_emf_document(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    (line,) = emf_lines(capsys)
    return json.loads(line)


def assert_extractable(line: str) -> None:
    """What the EMF specification asks of a log event for CloudWatch to extract its metrics."""
    assert line.endswith("\n") and line.count("\n") == 1, "one log event: a single line"
    document = json.loads(line)  # raises on data before or after the object
    assert isinstance(document, dict)
    metadata = document["_aws"]  # at the root, not nested under "message"
    assert isinstance(metadata["Timestamp"], int)
    for directive in metadata["CloudWatchMetrics"]:
        assert directive["Namespace"] == metrics.NAMESPACE
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                assert isinstance(document[name], str), f"dimension {name} must be a string at the root"
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            assert isinstance(value, int | float) and not isinstance(value, bool)
            assert metric["Unit"] in {"Count", "Milliseconds", "Count/Second"}


def test_a_buffered_request_writes_one_emf_line_of_exactly_this_shape(
    proxy: Proxy, stubber: Stubber, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics.time, "time", lambda: 1_700_000_000.123)
    ticks = iter([10.0, 10.1, 12.1, 12.2])  # request start, model start, model end, request end
    prefill = [{"id": 1, "text": "<s>", "logprob": None}, {"id": 2, "text": "Hi", "logprob": -1.0}]
    queue_answer(stubber, tgi_answer(generated_tokens=50, prefill=prefill))
    handle_event(
        Proxy(proxy.config, proxy.client, clock=lambda: next(ticks)),
        url_event(body={"inputs": "Hi", "parameters": {"decoder_input_details": True}}),
        LambdaContext(),
    )
    (line,) = emf_lines(capsys)
    assert_extractable(line)
    assert json.loads(line) == {
        "_aws": {
            "Timestamp": 1_700_000_000_123,
            "CloudWatchMetrics": [
                {
                    "Namespace": "MistralEndpoint",
                    "Dimensions": [
                        ["EndpointName", "StatusClass"],
                        ["EndpointName", "Route", "StatusClass"],
                    ],
                    "Metrics": [
                        {"Name": "Requests", "Unit": "Count"},
                        {"Name": "RequestLatency", "Unit": "Milliseconds"},
                        {"Name": "InputTokens", "Unit": "Count"},
                        {"Name": "GeneratedTokens", "Unit": "Count"},
                        {"Name": "TokensPerSecond", "Unit": "Count/Second"},
                        {"Name": "MsPerToken", "Unit": "Milliseconds"},
                    ],
                },
                {
                    "Namespace": "MistralEndpoint",
                    "Dimensions": [["EndpointName", "Caller", "StatusClass"]],
                    "Metrics": [
                        {"Name": "Requests", "Unit": "Count"},
                        {"Name": "InputTokens", "Unit": "Count"},
                        {"Name": "GeneratedTokens", "Unit": "Count"},
                        {"Name": "MsPerToken", "Unit": "Milliseconds"},
                    ],
                },
            ],
        },
        "EndpointName": ENDPOINT,
        "Route": "/generate",
        "StatusClass": "2xx",
        "Caller": CALLER,
        "Requests": 1,
        "RequestLatency": 2200.0,
        "InputTokens": 2,
        "GeneratedTokens": 50,
        "TokensPerSecond": 25.0,
        "MsPerToken": 40.0,
        "request_id": "lambda-request-id",
    }


def test_the_request_log_record_carries_no_second_emf_document(
    proxy: Proxy, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    """The runtime's JSON formatter puts ``extra`` at the root: an ``_aws`` there would count twice."""
    queue_answer(stubber)
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    assert all("_aws" not in record.__dict__ for record in caplog.records)


def test_metrics_never_carry_the_prompt_or_completion_even_with_log_prompts(
    client: Any, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_answer(stubber, tgi_answer(SECRET_COMPLETION))
    proxy = Proxy(make_config(LOG_PROMPTS="true"), client)
    handle_event(proxy, url_event(body={"inputs": SECRET_PROMPT}), LambdaContext())
    (line,) = emf_lines(capsys)
    assert SECRET_PROMPT not in line and SECRET_COMPLETION not in line


def test_metrics_are_written_whatever_the_application_log_level(
    proxy: Proxy, stubber: Stubber, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging.getLogger("invoke_proxy"), "level", logging.ERROR)
    queue_answer(stubber)
    handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    assert the_emf_document(capsys)["StatusClass"] == "2xx"


def test_a_health_probe_writes_no_metrics(proxy: Proxy, capsys: pytest.CaptureFixture[str]) -> None:
    handle_event(proxy, url_event(method="GET", path="/health"), LambdaContext())
    assert emf_lines(capsys) == []


def test_an_unknown_path_is_reported_as_route_other(proxy: Proxy, capsys: pytest.CaptureFixture[str]) -> None:
    handle_event(proxy, url_event(path="/x/1234-random"), LambdaContext())
    document = the_emf_document(capsys)
    assert (document["Route"], document["StatusClass"]) == ("other", "4xx")


def test_a_model_failure_counts_as_5xx_without_token_figures(
    proxy: Proxy, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_model_error(stubber, 500, "boom")
    handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    document = the_emf_document(capsys)
    assert document["StatusClass"] == "5xx"
    assert metrics.GENERATED_TOKENS not in document and metrics.TOKENS_PER_SECOND not in document


def test_a_streamed_request_reports_time_to_first_token() -> None:
    fields = {
        "route": "/generate",
        "status": 200,
        "latency_ms": 3100.0,
        "model_latency_ms": 3000.0,
        "time_to_first_token_ms": 250.0,
        "completion_tokens": 100,
    }
    document = metrics.emf_document(fields, endpoint_name="e", routes=ROUTES, timestamp_ms=1)
    assert document is not None
    assert_extractable(json.dumps(document) + "\n")
    assert (document["TimeToFirstToken"], document["MsPerToken"], document["TokensPerSecond"]) == (
        250.0,
        30.0,
        33.333,
    )


def test_a_wake_from_zero_is_counted_apart_from_5xx(capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(INFERENCE_COMPONENT_NAME="mistral-test-component")
    client = create_client(config)
    with Stubber(client) as stubber:
        # SageMaker's answer while the component has no copy (see test_proxy_scale_to_zero).
        queue_error(
            stubber, "ValidationError", 400, "Inference Component has no capacity to process this request."
        )
        handle_event(
            Proxy(config, client, sleep=lambda _: None), url_event(body={"inputs": "Hi"}), LambdaContext()
        )
    document = the_emf_document(capsys)
    assert (document["StatusClass"], document["ModelScalingUp"]) == ("5xx", 1)


def test_a_broken_stdout_does_not_fail_the_request(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def write(self, text: str) -> int:
            raise OSError("closed")

    metrics.write_request_metrics(
        {"route": "/generate", "status": 200},
        endpoint_name="e",
        routes=ROUTES,
        stream=Broken(),  # type: ignore[arg-type]
    )
    assert "could not write" in caplog.text


def test_a_metrics_failure_line_names_the_request_and_its_caller(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def write(self, text: str) -> int:
            raise OSError("closed")

    fields = {"route": "/generate", "status": 200, "request_id": "r-1", "caller": CALLER}
    metrics.write_request_metrics(fields, endpoint_name="e", routes=ROUTES, stream=Broken())  # type: ignore[arg-type]
    (record,) = caplog.records
    assert (record.__dict__["request_id"], record.__dict__["caller"]) == ("r-1", CALLER)
