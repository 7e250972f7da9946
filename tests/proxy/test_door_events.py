"""Both doors reach the same HTTP app the same way: a private REST API's streaming proxy event (payload format
1.0) and a function URL's event (2.0), each through the loopback imitation of the Lambda Web Adapter
(tests/web_adapter.py), answer with the metadata, delimiter and payload API Gateway requires, and with the same
events, errors and caller; the buffered handler takes both event shapes too."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from proxy_helpers import CALLER, CALLER_ARN, LambdaContext, make_config
from web_adapter import DELIMITER, Door, invoke_streaming, read_streamed_response

from invoke_proxy.contract import WEB_ADAPTER_ENVIRONMENT
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client
from invoke_proxy.sse import SseParser
from mistral_client.function_url import rest_api_event, url_event
from mistral_client.standin import StandIn
from mistral_client.standin.scripts import tokens_script
from mistral_client.standin.server import proxy_app

CHAT = {"messages": [{"role": "user", "content": "Capital of France?"}], "stream": True}
# SageMaker's wording for a scaled-to-zero component (tests/proxy/test_proxy_scale_to_zero.py has the source).
NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)


@pytest.fixture
def app_port(sagemaker: StandIn) -> Iterator[int]:
    with proxy_app(make_config()) as url:
        yield int(urlsplit(url).port or 0)


def private_door(path: str, body: dict[str, Any], caller_arn: str | None = CALLER_ARN) -> dict[str, Any]:
    return rest_api_event(
        "POST", path, json.dumps(body), caller_arn=caller_arn, request_id="apigw-request-id"
    )


def function_url(path: str, body: dict[str, Any]) -> dict[str, Any]:
    return url_event("POST", path, body=json.dumps(body), account_id="123456789012", caller_arn=CALLER_ARN)


def through(app_port: int, event: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    metadata, payload = read_streamed_response(invoke_streaming(app_port, event))
    return metadata, b"".join(payload)


def sse_events(payload: bytes) -> list[Any]:
    parser = SseParser()
    return [json.loads(data) for data in parser.feed(payload) + parser.close() if data != "[DONE]"]


def test_a_rest_api_stream_through_the_adapter_is_metadata_then_eight_nul_bytes_then_the_events(
    app_port: int, sagemaker: StandIn
) -> None:
    sagemaker.stream(*tokens_script([" Par", "is."]))
    raw = b"".join(invoke_streaming(app_port, private_door("/chat", CHAT)))
    head, delimiter, payload = raw.partition(DELIMITER)
    metadata = json.loads(head)  # the prelude is one JSON object, nothing before it
    assert delimiter == DELIMITER
    assert metadata["statusCode"] == 200
    assert metadata["headers"]["content-type"].startswith("text/event-stream")
    assert payload.startswith(b"data: ") and b"\x00" not in payload


def test_both_doors_stream_the_same_events(app_port: int, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" Par", "is."]))
    _, private_payload = through(app_port, private_door("/chat", CHAT))
    sagemaker.stream(*tokens_script([" Par", "is."]))
    _, url_payload = through(app_port, function_url("/chat", CHAT))
    assert sse_events(private_payload) == sse_events(url_payload)
    assert [event["token"]["text"] for event in sse_events(private_payload)] == [" Par", "is."]


def test_a_validation_error_is_the_same_400_through_both_doors(app_port: int, sagemaker: StandIn) -> None:
    bad = {"messages": [{"role": "assistant", "content": "Hi"}], "stream": True}
    private_metadata, private_body = through(app_port, private_door("/chat", bad))
    url_metadata, url_body = through(app_port, function_url("/chat", bad))
    assert private_metadata["statusCode"] == url_metadata["statusCode"] == 400
    assert json.loads(private_body) == json.loads(url_body)
    assert sagemaker.requests == []


def test_a_waking_model_answers_503_with_retry_after_through_the_private_door(sagemaker: StandIn) -> None:
    sagemaker.error(400, "ValidationError", {"message": NO_CAPACITY})
    with proxy_app(make_config(INFERENCE_COMPONENT_NAME="mistral-test-component")) as url:
        metadata, body = through(int(urlsplit(url).port or 0), private_door("/chat", CHAT))
    assert metadata["statusCode"] == 503
    assert metadata["headers"]["retry-after"] == "60"
    assert json.loads(body)["error"]["type"] == "model_scaling_up"


def test_the_private_doors_caller_is_named_in_the_request_log_line(
    app_port: int, sagemaker: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    sagemaker.stream(*tokens_script([" Hi"]))
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        through(app_port, private_door("/chat", CHAT))
    (record,) = [r for r in caplog.records if r.getMessage() == "request"]
    assert record.__dict__["caller"] == CALLER


def test_the_stage_is_not_part_of_the_path_the_app_sees(app_port: int, sagemaker: StandIn) -> None:
    event = private_door("/health", {})
    event.update(httpMethod="GET", body=None)
    assert event["requestContext"]["path"] == "/prod/health"
    metadata, body = through(app_port, event)
    assert (metadata["statusCode"], json.loads(body)["status"]) == (200, "ok")


def test_without_the_stage_switch_the_app_would_see_the_stage_and_answer_404(
    app_port: int, sagemaker: StandIn
) -> None:
    event = private_door("/health", {})
    event.update(httpMethod="GET", body=None)
    environment = {
        k: v for k, v in WEB_ADAPTER_ENVIRONMENT.items() if k != "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"
    }
    metadata, _ = read_streamed_response(invoke_streaming(app_port, event, environment=environment))
    assert metadata["statusCode"] == 404


def test_the_buffered_handler_answers_a_rest_api_event(sagemaker: StandIn) -> None:
    sagemaker.reply(200, json.dumps([{"generated_text": "Paris."}]).encode())
    config = make_config()
    event = private_door("/generate", {"inputs": "The capital of France is"})
    answer = handle_event(Proxy(config, create_client(config)), event, LambdaContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"generated_text": "Paris."}
    assert sagemaker.requests[0].json()["inputs"] == "The capital of France is"


# --- over HTTP: a loopback imitation of each door --------------------------------------------------------


def streamed_over_http(door: Door, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], list[Any]]:
    door_thread = threading.Thread(target=door.serve_forever, daemon=True)
    door_thread.start()
    request = urllib.request.Request(
        door.url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        try:
            response = urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), [json.loads(error.read())]
        with response:
            parser, received = SseParser(), []
            while chunk := response.read1(65536):
                received += parser.feed(chunk)
            received += parser.close()
            return response.status, dict(response.headers), [json.loads(d) for d in received if d != "[DONE]"]
    finally:
        door.shutdown()
        door.server_close()


def test_a_request_through_the_private_door_streams_the_same_events_as_through_the_function_url(
    app_port: int, sagemaker: StandIn
) -> None:
    sagemaker.stream(*tokens_script([" Par", "is."]))
    private = streamed_over_http(Door(app_port, "private", CALLER_ARN), "/chat", CHAT)
    sagemaker.stream(*tokens_script([" Par", "is."]))
    url = streamed_over_http(Door(app_port, "url", CALLER_ARN), "/chat", CHAT)
    assert private[0] == url[0] == 200
    assert private[2] == url[2] and len(private[2]) >= 2
    assert sagemaker.requests[0].json()["stream"] is True


def test_retry_after_survives_the_private_door(sagemaker: StandIn) -> None:
    sagemaker.error(400, "ValidationError", {"message": NO_CAPACITY})
    with proxy_app(make_config(INFERENCE_COMPONENT_NAME="mistral-test-component")) as app:
        door = Door(int(urlsplit(app).port or 0), "private", CALLER_ARN)
        status, headers, (body,) = streamed_over_http(door, "/chat", CHAT)
    assert (status, headers["retry-after"], body["error"]["type"]) == (503, "60", "model_scaling_up")
