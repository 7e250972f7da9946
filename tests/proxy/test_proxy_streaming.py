"""Streaming over real HTTP on loopback: the proxy's HTTP app (as behind the Lambda Web Adapter) calls a stand-in
SageMaker runtime that answers InvokeEndpointWithResponseStream with real event-stream framing."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from proxy_helpers import ENDPOINT, make_config, model_error
from sse_client import SseResponse

from invoke_proxy.core import Proxy
from invoke_proxy.http_server import make_server
from mistral_client import eventstream
from mistral_client.standin import (
    StandIn,
    endless_tokens,
    proxy_app,
    sse_bytes,
    tgi_token,
    tokens_script,
)

CHAT = {"messages": [{"role": "user", "content": "Hi"}], "stream": True}
OPENAI = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}


@pytest.fixture
def app(sagemaker: StandIn) -> Iterator[str]:
    with proxy_app(make_config()) as url:
        yield url


def stream(app: str, body: dict[str, Any], path: str = "/generate") -> SseResponse:
    return SseResponse(app, path, body)


def events(app: str, body: dict[str, Any], path: str = "/generate") -> list[Any]:
    response = stream(app, body, path)
    try:
        assert response.status == 200, response.response.read()
        return response.json_events()
    finally:
        response.close()


def texts(events: list[Any]) -> list[str]:
    return [event["token"]["text"] for event in events]


# --- the transport ----------------------------------------------------------------------------------------


def test_a_streamed_answer_is_event_stream_in_chunked_encoding(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hi"]))
    response = stream(app, {"inputs": "Hi", "stream": True})
    try:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-encoding" not in response.headers
    finally:
        response.close()


def test_the_proxy_calls_invoke_endpoint_with_response_stream_with_stream_true(
    app: str, sagemaker: StandIn
) -> None:
    sagemaker.stream(*tokens_script(["Hi"]))
    events(app, {"inputs": "Hi", "stream": True})
    request = sagemaker.requests[0]
    assert request.path == f"/endpoints/{ENDPOINT}/invocations-response-stream"
    assert request.json()["stream"] is True and request.json()["inputs"] == "Hi"


def test_each_token_reaches_the_caller_while_the_model_is_still_generating(
    app: str, sagemaker: StandIn
) -> None:
    released = threading.Event()
    first, second = tokens_script([" Par", "is."])
    sagemaker.stream(first, released, second)
    response = stream(app, {"inputs": "The capital of France is", "stream": True})
    try:
        received = response.events()
        # The stand-in sends token 2 only after the test has read token 1: buffering would stall here.
        assert json.loads(next(received))["token"]["text"] == " Par"
        assert not sagemaker.finished.is_set()
        released.set()
        last = json.loads(next(received))
        assert (last["token"]["text"], last["generated_text"]) == ("is.", " Paris.")
    finally:
        released.set()
        response.close()


def test_tokens_arrive_as_separate_events_in_order(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" one", " two", " three", " four"]))
    assert texts(events(app, {"inputs": "Count", "stream": True})) == [" one", " two", " three", " four"]


def test_a_line_split_across_two_payload_parts_is_one_event(app: str, sagemaker: StandIn) -> None:
    raw = sse_bytes(tgi_token(" Paris.", 1, final=" Paris."))
    sagemaker.stream(eventstream.payload_part(raw[:17]), eventstream.payload_part(raw[17:]))
    assert [event["generated_text"] for event in events(app, {"inputs": "Hi", "stream": True})] == [" Paris."]


def test_a_multibyte_character_split_across_payload_parts_survives(app: str, sagemaker: StandIn) -> None:
    raw = b"data:" + json.dumps(tgi_token("é", 1, final="é"), ensure_ascii=False).encode() + b"\n\n"
    cut = raw.index("é".encode()) + 1
    sagemaker.stream(eventstream.payload_part(raw[:cut]), eventstream.payload_part(raw[cut:]))
    assert texts(events(app, {"inputs": "Hi", "stream": True})) == ["é"]


def test_two_events_in_one_payload_part_are_two_events(app: str, sagemaker: StandIn) -> None:
    both = sse_bytes(tgi_token(" Par", 1)) + sse_bytes(tgi_token("is.", 2, final=" Paris."))
    sagemaker.stream(eventstream.payload_part(both))
    assert texts(events(app, {"inputs": "Hi", "stream": True})) == [" Par", "is."]


def test_a_caller_that_disconnects_closes_the_stream_from_sagemaker(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*endless_tokens())
    response = stream(app, {"inputs": "Tell me everything", "stream": True})
    next(response.events())
    response.close()
    assert sagemaker.stream_closed.wait(15)
    assert not sagemaker.finished.is_set()


def test_a_request_without_stream_still_answers_buffered_json(app: str, sagemaker: StandIn) -> None:
    # The stand-in only streams: the buffered route's InvokeEndpoint gets the canned error below.
    sagemaker.error(400, "ValidationError", {"message": "not this call"})
    response = stream(app, {"inputs": "Hi"})
    try:
        assert response.headers["content-type"] == "application/json"
        assert (response.status, response.body()["error"]["type"]) == (502, "endpoint_error")
    finally:
        response.close()
    assert sagemaker.requests[0].path == f"/endpoints/{ENDPOINT}/invocations"


# --- TGI-shaped events ------------------------------------------------------------------------------------


def test_generate_events_leave_out_details_unless_asked(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" Paris."]))
    assert events(app, {"inputs": "Hi", "stream": True})[-1]["details"] is None


def test_generate_events_keep_details_when_asked(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" Paris."]))
    body = {"inputs": "Hi", "stream": True, "parameters": {"details": True}}
    assert events(app, body)[-1]["details"]["finish_reason"] == "eos_token"


def test_chat_events_end_with_the_answer_without_its_stop_sequence(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Bonjour", " !", "END"], finish_reason="stop_sequence"))
    last = events(app, {**CHAT, "parameters": {"stop": ["END"]}}, "/chat")[-1]
    assert (last["generated_text"], last["finish_reason"]) == ("Bonjour !", "stop_sequence")


# --- failures ---------------------------------------------------------------------------------------------


def error_event(app: str, body: dict[str, Any], path: str = "/generate") -> dict[str, Any]:
    received = events(app, body, path)
    assert set(received[-1]) == {"error", "request_id"}, received[-1]
    return received[-1]


def test_a_model_stream_error_mid_answer_ends_with_an_error_event(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.model_stream_error("Model invocation time exceeded"))
    received = events(app, {"inputs": "Hi", "stream": True})
    assert received[0]["token"]["text"] == " Par"
    assert received[1]["error"]["type"] == "timeout" and len(received) == 2


def test_a_model_stream_error_that_is_not_a_timeout_is_a_model_error(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.model_stream_error("Stream broken", "StreamBroken"))
    assert error_event(app, {"inputs": "Hi", "stream": True})["error"]["type"] == "model_error"


def test_an_internal_stream_failure_mid_answer_ends_with_an_error_event(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.internal_stream_failure("Internal stream failure"))
    assert error_event(app, {"inputs": "Hi", "stream": True})["error"]["type"] == "upstream_error"


def test_tgis_own_error_event_mid_answer_ends_with_an_error_event(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script([" Par", "is."])
    failure = sse_bytes({"error": "Request failed during generation: CUDA OOM", "error_type": "generation"})
    sagemaker.stream(first, eventstream.payload_part(failure))
    event = error_event(app, {"inputs": "Hi", "stream": True})
    assert event["error"]["type"] == "model_error" and "CUDA" not in event["error"]["message"]


def test_a_stream_cut_short_ends_with_an_error_event(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first)
    assert "incomplete" in error_event(app, {"inputs": "Hi", "stream": True})["error"]["message"]


def test_the_error_event_has_the_buffered_error_body_shape(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    event = error_event(app, {"inputs": "Hi", "stream": True})
    assert set(event["error"]) == {"type", "message"} and isinstance(event["request_id"], str)


def test_an_error_before_the_first_event_is_a_plain_json_error(app: str, sagemaker: StandIn) -> None:
    message = json.dumps({"error": "Input validation error: too long", "error_type": "validation"})
    model_error(sagemaker, 422, message)
    response = stream(app, {"inputs": "Hi", "stream": True})
    try:
        assert response.headers["content-type"] == "application/json"
        assert (response.status, response.body()["error"]["type"]) == (422, "model_validation_error")
    finally:
        response.close()


def test_a_tgi_error_as_the_first_event_is_a_plain_json_error(app: str, sagemaker: StandIn) -> None:
    failure = sse_bytes({"error": "Input validation error: too long", "error_type": "validation"})
    sagemaker.stream(eventstream.payload_part(failure))
    response = stream(app, {"inputs": "Hi", "stream": True})
    try:
        assert (response.status, response.body()["error"]["message"]) == (
            422,
            "Input validation error: too long",
        )
    finally:
        response.close()


def test_a_validation_error_is_a_plain_json_400_before_any_call(app: str, sagemaker: StandIn) -> None:
    response = stream(app, {"inputs": "Hi", "stream": True, "parameters": {"top_p": 1}})
    try:
        assert (response.status, response.headers["content-type"]) == (400, "application/json")
    finally:
        response.close()
    assert sagemaker.requests == []


# --- the log line -----------------------------------------------------------------------------------------


def test_a_streamed_request_logs_time_to_first_token_tokens_and_speed(
    app: str, sagemaker: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    sagemaker.stream(*tokens_script([" a", " b", " c"], finish_reason="length"))
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        events(app, {"inputs": "Hi", "stream": True})
    (line,) = [r.__dict__ for r in caplog.records if r.getMessage() == "request"]
    assert (line["status"], line["streamed"], line["completion_tokens"], line["finish_reason"]) == (
        200,
        True,
        3,
        "length",
    )
    assert line["time_to_first_token_ms"] >= 0 and line["tokens_per_second"] > 0
    assert line["latency_ms"] >= line["time_to_first_token_ms"]


def test_a_mid_stream_failure_is_logged_with_its_error_type(
    app: str, sagemaker: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        events(app, {"inputs": "Hi", "stream": True})
    (record,) = [r for r in caplog.records if r.getMessage() == "request"]
    assert (record.levelname, record.__dict__["error_type"]) == ("ERROR", "upstream_error")
    assert record.__dict__["upstream_code"] == "InternalStreamFailure"


def test_a_caller_that_disconnects_is_logged(
    app: str, sagemaker: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    sagemaker.stream(*endless_tokens())
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        response = stream(app, {"inputs": "Hi", "stream": True})
        next(response.events())
        response.close()
        assert sagemaker.stream_closed.wait(15)
        for _ in range(100):  # the log line is written by the app's thread just after it closed the stream
            if any(r.getMessage() == "request" for r in caplog.records):
                break
            threading.Event().wait(0.05)
    (record,) = [r for r in caplog.records if r.getMessage() == "request"]
    assert record.__dict__["caller_disconnected"] is True


# --- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"inputs": "Hi", "stream": "yes"}, "stream"),
        (
            {"inputs": "Hi", "stream": True, "parameters": {"best_of": 2, "do_sample": True}},
            "parameters.best_of",
        ),
        (
            {"inputs": "Hi", "stream": True, "parameters": {"decoder_input_details": True}},
            "parameters.decoder_input_details",
        ),
    ],
)
def test_what_tgi_cannot_stream_is_a_400_naming_the_field(
    app: str, sagemaker: StandIn, body: dict[str, Any], param: str
) -> None:
    response = stream(app, body)
    try:
        assert (response.status, response.body()["error"]["param"]) == (400, param)
    finally:
        response.close()
    assert sagemaker.requests == []


def test_chat_accepts_stream_false_and_answers_buffered(app: str, sagemaker: StandIn) -> None:
    sagemaker.error(400, "ValidationError", {"message": "not this call"})
    response = stream(app, {**CHAT, "stream": False}, "/chat")
    try:
        assert response.status == 502  # the canned error: the request passed validation
    finally:
        response.close()
    assert sagemaker.requests[0].path.endswith("/invocations")


def test_health_answers_for_the_web_adapters_readiness_check(app: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{app}/health", timeout=10) as answer:
        assert (answer.status, json.load(answer)["status"]) == (200, "ok")


def test_the_request_id_comes_from_the_web_adapters_lambda_context(app: str, sagemaker: StandIn) -> None:
    import urllib.request

    headers = {"x-amzn-lambda-context": json.dumps({"request_id": "lambda-req-1", "deadline": 0})}
    request = urllib.request.Request(f"{app}/nowhere", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert json.load(raised.value)["request_id"] == "lambda-req-1"


def test_a_read_timeout_mid_answer_ends_with_a_timeout_event(sagemaker: StandIn) -> None:
    import boto3
    from botocore.config import Config as BotoConfig

    # The deployed client waits 70 s for the next byte; this one waits 0.2 s, so the pause below outlasts it.
    client = boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        config=BotoConfig(read_timeout=0.2, retries={"total_max_attempts": 1}),
    )
    server = make_server(Proxy(make_config(), client), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    released = threading.Event()
    first, second = tokens_script([" Par", "is."])
    sagemaker.stream(first, released, second)
    try:
        received = events(f"http://127.0.0.1:{server.server_address[1]}", {"inputs": "Hi", "stream": True})
    finally:
        released.set()
        server.shutdown()
        server.server_close()
    assert received[0]["token"]["text"] == " Par"
    assert (received[-1]["error"]["type"], len(received)) == ("timeout", 2)


# --- metrics ------------------------------------------------------------------------------------------------


def emf_lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith('{"_aws"')]


def test_a_streamed_request_writes_one_emf_line_with_time_to_first_token_and_tokens(
    app: str, sagemaker: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    sagemaker.stream(*tokens_script([" a", " b", " c"], finish_reason="length"))
    events(app, {"inputs": "Hi", "stream": True})
    (line,) = emf_lines(capsys.readouterr().out)
    assert (line["Route"], line["StatusClass"], line["GeneratedTokens"]) == ("/generate", "2xx", 3)
    assert line["TimeToFirstToken"] >= 0 and line["TokensPerSecond"] > 0


def test_a_mid_stream_failure_counts_in_its_errors_status_class(
    app: str, sagemaker: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    events(app, {"inputs": "Hi", "stream": True})
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["StatusClass"] == "5xx"
