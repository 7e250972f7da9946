"""One log line per request, with what operators need and never the prompt text unless asked."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.stub import Stubber
from proxy_helpers import LambdaContext, make_config, queue_answer, queue_model_error, tgi_answer, url_event

from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event

SECRET_PROMPT = "my secret prompt text"


def request_log(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    records = [r for r in caplog.records if r.name == "invoke_proxy" and r.getMessage() == "request"]
    assert len(records) == 1
    return records[0].__dict__


def send(proxy: Proxy, caplog: pytest.LogCaptureFixture, event: dict[str, Any]) -> dict[str, Any]:
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        handle_event(proxy, event, LambdaContext())
    return request_log(caplog)


def test_a_request_logs_request_id_route_status_latency_and_tokens(
    proxy: Proxy, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    queue_answer(stubber, tgi_answer(generated_tokens=5, finish_reason="length"))
    line = send(proxy, caplog, url_event(body={"inputs": SECRET_PROMPT}))
    assert line["request_id"] == "lambda-request-id"
    assert (line["route"], line["method"], line["status"]) == ("/generate", "POST", 200)
    assert line["latency_ms"] >= 0 and line["model_latency_ms"] >= 0
    assert (line["completion_tokens"], line["finish_reason"]) == (5, "length")


def test_prompt_tokens_are_logged_when_tgi_reports_prefill(
    proxy: Proxy, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    prefill = [{"id": 1, "text": "<s>", "logprob": None}, {"id": 2, "text": "Hi", "logprob": -1.0}]
    queue_answer(stubber, tgi_answer(prefill=prefill))
    body = {"inputs": "Hi", "parameters": {"decoder_input_details": True}}
    assert send(proxy, caplog, url_event(body=body))["prompt_tokens"] == 2


def test_the_prompt_text_is_not_logged_by_default(
    proxy: Proxy, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    queue_answer(stubber, tgi_answer("the completion text"))
    with caplog.at_level(logging.DEBUG):
        handle_event(proxy, url_event(body={"inputs": SECRET_PROMPT}), LambdaContext())
    everything = " ".join(str(record.__dict__) for record in caplog.records)
    assert SECRET_PROMPT not in everything
    assert "the completion text" not in everything


def test_the_prompt_text_is_logged_when_log_prompts_is_true(
    client: Any, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    queue_answer(stubber)
    proxy = Proxy(make_config(LOG_PROMPTS="true"), client)
    assert send(proxy, caplog, url_event(body={"inputs": SECRET_PROMPT}))["prompt"] == SECRET_PROMPT


def test_a_rejected_request_logs_its_status_and_error_type(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    line = send(proxy, caplog, url_event(body={"inputs": ""}))
    assert (line["status"], line["error_type"]) == (400, "invalid_request_error")


def test_a_model_error_is_logged_at_error_level(
    proxy: Proxy, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    queue_model_error(stubber, 500, "boom")
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    assert caplog.records[-1].levelno == logging.ERROR
