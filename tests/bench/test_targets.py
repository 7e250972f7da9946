"""Both targets: TGI's answers parsed, errors classified as 429 / 5xx / timeout, the function URL signed."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from cli.cli_helpers import FunctionUrl, signature_is_valid
from conftest import FAST, StandInFactory, target_for

from invoke_proxy.sse import SseParser
from mistral_client.bench import workload
from mistral_client.bench.targets import (
    DoorTarget,
    EndpointTarget,
    FunctionUrlTarget,
    classify_botocore,
    classify_http,
    endpoint_client,
    read_answer,
    read_stream,
)
from mistral_client.standin import StandIn, TimingModel


def sse(event: Mapping[str, Any]) -> bytes:
    return f"data:{json.dumps(event)}\n\n".encode()


TOKEN = {"id": 1, "text": " a", "logprob": -0.1, "special": False}
FINAL = {
    "token": TOKEN,
    "generated_text": " a a",
    "details": {"finish_reason": "length", "generated_tokens": 2},
}


# --- TGI answers --------------------------------------------------------------------------------------------


def test_the_sse_parser_reassembles_tgi_events_split_across_reads() -> None:
    parser = SseParser()  # the proxy's own parser: one for both ends
    raw = sse({"token": TOKEN, "generated_text": None}) + b"data: " + json.dumps(FINAL).encode() + b"\n\n"
    events = [event for i in range(0, len(raw), 7) for event in parser.feed(raw[i : i + 7])]
    assert [json.loads(e)["generated_text"] for e in events] == [None, " a a"]


def test_a_stream_that_is_not_json_is_a_server_error() -> None:
    outcome = read_stream([b"data: <html>\n\n"], start=0.0)
    assert (outcome.kind, outcome.message) == ("5xx", "error event: unreadable event: '<html>'")


def test_a_stream_reports_the_first_token_time_and_the_final_details() -> None:
    outcome = read_stream([sse({"token": TOKEN, "generated_text": None}), sse(FINAL)], start=0.0)
    assert outcome.kind == "ok"
    assert outcome.generated_tokens == 2
    assert outcome.finish_reason == "length"
    assert outcome.first_token is not None and outcome.first_token <= outcome.end


def test_an_error_event_after_http_200_is_a_server_error() -> None:
    outcome = read_stream(
        [sse({"token": TOKEN}), sse({"error": "CUDA OOM", "error_type": "generation"})], 0.0
    )
    assert (outcome.kind, outcome.message) == ("5xx", "error event: CUDA OOM")


def test_a_stream_that_stops_without_a_final_event_is_a_server_error() -> None:
    outcome = read_stream([sse({"token": TOKEN, "generated_text": None})], 0.0)
    assert outcome.kind == "5xx"
    assert "without a final event" in outcome.message


def test_buffered_answers_are_read_in_sagemakers_list_and_the_proxys_object_shape() -> None:
    answer = {"generated_text": "x", "details": {"finish_reason": "eos_token", "generated_tokens": 3}}
    for raw in (json.dumps([answer]), json.dumps(answer)):
        outcome = read_answer(raw.encode(), 0.0, 1.0)
        assert (outcome.kind, outcome.generated_tokens, outcome.finish_reason) == ("ok", 3, "eos_token")


def test_an_answer_without_details_cannot_be_verified_and_is_not_counted_as_ok() -> None:
    outcome = read_answer(json.dumps([{"generated_text": "x"}]).encode(), 0.0, 1.0)
    assert outcome.kind == "other"


# --- error classification ---------------------------------------------------------------------------------------


def client_error(code: str, http_status: int, message: str = "", **fields: object) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": http_status},
        **fields,
    }
    return ClientError(response, "InvokeEndpoint")  # type: ignore[arg-type,unused-ignore]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (client_error("ModelError", 424, OriginalStatusCode=429, OriginalMessage="overloaded"), "429"),
        (client_error("ModelError", 424, OriginalStatusCode=500, OriginalMessage="CUDA"), "5xx"),
        (client_error("ModelError", 424, OriginalStatusCode=422, OriginalMessage="too long"), "other"),
        (
            client_error(
                "ModelError",
                424,
                "Received server error (0) from primary",
                OriginalStatusCode=0,
                OriginalMessage="Your invocation timed out while waiting for a response from container primary.",
            ),
            "timeout",
        ),
        (client_error("ModelStreamError", 200, "Model invocation time exceeded: timed out"), "timeout"),
        (client_error("ModelStreamError", 200, "stream broken"), "5xx"),
        (client_error("ThrottlingException", 429), "429"),
        (client_error("ModelNotReadyException", 429), "429"),
        (client_error("ServiceUnavailable", 503), "5xx"),
        (client_error("InternalFailure", 500), "5xx"),
        (client_error("ValidationError", 400, "Endpoint x not found"), "other"),
        (
            client_error(
                "ValidationError", 400, "Inference Component has no capacity to process this request."
            ),
            "5xx",
        ),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1/x"), "timeout"),
    ],
)
def test_sagemaker_errors_are_classified_by_kind(error: Exception, kind: str) -> None:
    assert classify_botocore(error)[0] == kind


@pytest.mark.parametrize(
    ("status", "kind"), [(429, "429"), (502, "5xx"), (503, "5xx"), (504, "timeout"), (400, "other")]
)
def test_function_url_statuses_are_classified_by_kind(status: int, kind: str) -> None:
    assert classify_http(status) == kind


# --- the stand-in through botocore ----------------------------------------------------------------------------


def test_botocore_raises_tgis_429_as_a_model_error_with_the_original_status(
    stand_in_factory: StandInFactory,
) -> None:
    stand_in = stand_in_factory(TimingModel(max_concurrent_requests=0))
    client = endpoint_client(botocore.session.Session(), "us-east-1", 10, 1, stand_in.url)
    with pytest.raises(ClientError) as raised:
        client.invoke_endpoint(
            EndpointName=stand_in.endpoint_name, Body=workload.request_body(8, 4, stream=False)
        )
    error = raised.value
    assert type(error).__name__ == "ModelError"
    assert error.response["Error"]["Code"] == "ModelError"
    assert error.response["OriginalStatusCode"] == 429
    assert json.loads(error.response["OriginalMessage"])["error_type"] == "overloaded"
    assert error.response["LogStreamArn"].startswith("arn:aws:logs:")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_the_container_timeout_arrives_as_a_model_error_without_a_model_status(
    stand_in_factory: StandInFactory,
) -> None:
    stand_in = stand_in_factory(TimingModel(prefill_base_s=0.2, container_timeout_s=0.05))
    outcome = target_for(stand_in).send(workload.request_body(8, 4, stream=False), stream=False)
    assert (outcome.kind, outcome.status) == ("timeout", 0)


def test_a_stream_cut_at_the_container_timeout_is_a_timeout(stand_in_factory: StandInFactory) -> None:
    stand_in = stand_in_factory(TimingModel(prefill_base_s=0.01, token_base_s=0.02, container_timeout_s=0.1))
    outcome = target_for(stand_in).send(workload.request_body(8, 50, stream=True), stream=True)
    assert outcome.kind == "timeout"
    assert "ModelStreamError" in outcome.message


@pytest.mark.parametrize("stream", [False, True])
def test_the_endpoint_target_verifies_generated_tokens_from_details(stand_in: StandIn, stream: bool) -> None:
    outcome = target_for(stand_in).send(workload.request_body(16, 12, stream=stream), stream=stream)
    assert (outcome.kind, outcome.generated_tokens, outcome.finish_reason) == ("ok", 12, "length")
    assert (outcome.first_token is not None) == stream


def test_the_endpoint_client_follows_aws_endpoint_url_sagemaker_runtime(
    stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    client = endpoint_client(botocore.session.Session(), "us-east-1", 10, 1)
    outcome = EndpointTarget(client, stand_in.endpoint_name).send(
        workload.request_body(8, 3, stream=False), False
    )
    assert outcome.kind == "ok"
    assert stand_in.bodies[-1]["parameters"]["max_new_tokens"] == 3


# --- the function URL ------------------------------------------------------------------------------------------


@pytest.fixture
def function_url() -> Iterator[FunctionUrl]:
    server = FunctionUrl().start()
    yield server
    server.shutdown()
    server.server_close()


def url_target(function_url: FunctionUrl, region: str = "eu-west-1") -> FunctionUrlTarget:
    return FunctionUrlTarget(function_url.url, region, botocore.session.Session(), timeout=10)


def test_the_function_url_target_signs_each_generate_request_for_lambda(function_url: FunctionUrl) -> None:
    answer = {"generated_text": "x", "details": {"finish_reason": "length", "generated_tokens": 4}}
    function_url.answer(200, answer)
    function_url.answer(200, answer)
    target = url_target(function_url)
    body = workload.request_body(8, 4, stream=False)
    outcomes = [target.send(body, stream=False) for _ in range(2)]
    assert [o.generated_tokens for o in outcomes] == [4, 4]
    for request in function_url.requests:
        assert (request.method, request.path) == ("POST", "/generate")
        assert request.body == body
        assert signature_is_valid(request, function_url.url, "eu-west-1")


def test_the_private_api_target_posts_under_the_stage_signed_for_execute_api(
    function_url: FunctionUrl,
) -> None:
    """The private door's URL ends in its stage (/prod/): the route goes under it, signed for API Gateway."""
    function_url.answer(
        200, {"generated_text": "x", "details": {"finish_reason": "length", "generated_tokens": 4}}
    )
    stage = function_url.url + "prod/"
    target = DoorTarget(stage, "eu-west-1", botocore.session.Session(), timeout=10, service="execute-api")
    body = workload.request_body(8, 4, stream=False)
    assert target.send(body, stream=False).generated_tokens == 4
    (request,) = function_url.requests
    assert (request.method, request.path) == ("POST", "/prod/generate")
    assert signature_is_valid(request, function_url.url, "eu-west-1", "execute-api")
    assert target.name == f"private API {stage}"


@pytest.mark.parametrize(("status", "kind"), [(429, "429"), (502, "5xx"), (504, "timeout"), (400, "other")])
def test_the_proxys_error_statuses_are_counted_by_kind(
    function_url: FunctionUrl, status: int, kind: str
) -> None:
    function_url.answer(status, {"error": {"type": "x", "message": "y"}}, {"Retry-After": "2"})
    outcome = url_target(function_url).send(workload.request_body(8, 4, stream=False), stream=False)
    assert (outcome.kind, outcome.status) == (kind, status)
    assert "Retry-After: 2" in outcome.message


def test_a_streamed_answer_from_the_function_url_is_read_with_the_same_parser(
    function_url: FunctionUrl,
) -> None:
    events = sse({"token": TOKEN, "generated_text": None}) + sse(FINAL)
    function_url.answers.append((200, {"Content-Type": "text/event-stream"}, events))
    outcome = url_target(function_url).send(workload.request_body(8, 2, stream=True), stream=True)
    assert (outcome.kind, outcome.generated_tokens) == ("ok", 2)
    assert outcome.first_token is not None
    assert json.loads(function_url.requests[0].body)["stream"] is True


def test_a_loopback_url_without_a_region_is_called_unsigned(
    function_url: FunctionUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    function_url.answer(200, {"generated_text": "x", "details": {"generated_tokens": 1}})
    url_target(function_url, region=None).send(workload.request_body(8, 1, stream=False), stream=False)  # type: ignore[arg-type]
    assert "Authorization" not in function_url.requests[0].headers


def test_fast_model_is_what_the_behaviour_tests_use() -> None:
    assert FAST.token_base_s < 0.01


class _ClosesIdleConnections(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive that silently drops the connection after each answer (an idle timeout), or sleeps."""

    protocol_version = "HTTP/1.1"
    delay_s = 0.0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay_s)
        data = json.dumps({"generated_text": "x", "details": {"generated_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the timeout test's client has gone
            self.wfile.write(data)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def closing_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesIdleConnections)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_keep_alive_connection_closed_while_idle_is_resent_once_not_counted_as_an_error(
    closing_server: ThreadingHTTPServer,
) -> None:
    url = f"http://127.0.0.1:{closing_server.server_address[1]}/"
    target = FunctionUrlTarget(url, "us-east-1", botocore.session.Session(), timeout=5)
    body = workload.request_body(8, 2, stream=False)
    outcomes = [target.send(body, stream=False) for _ in range(3)]
    assert [o.kind for o in outcomes] == ["ok", "ok", "ok"]


def test_no_answer_within_the_client_timeout_is_a_timeout(
    closing_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ClosesIdleConnections, "delay_s", 0.5)
    url = f"http://127.0.0.1:{closing_server.server_address[1]}/"
    target = FunctionUrlTarget(url, "us-east-1", botocore.session.Session(), timeout=0.1)
    outcome = target.send(workload.request_body(8, 2, stream=False), stream=False)
    assert outcome.kind == "timeout"
