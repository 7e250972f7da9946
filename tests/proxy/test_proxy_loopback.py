"""The proxy against a loopback stand-in for the SageMaker runtime, reached through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``: real HTTP, real botocore serialization, signing and error parsing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from proxy_helpers import ENDPOINT, LOG_STREAM_ARN, LambdaContext, make_config, tgi_answer, url_event

from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client


class StandIn(ThreadingHTTPServer):
    """Answers each InvokeEndpoint with the next queued (status, headers, body); records the requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[tuple[str, dict[str, str], bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((self.path, dict(self.headers), body))
        status, headers, answer = self.server.answers.pop(0)
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stand_in(server: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    server.answers.clear()
    server.requests.clear()
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{server.server_address[1]}")
    return server


def send(body: dict[str, Any], path: str = "/generate") -> tuple[int, dict[str, Any], dict[str, str]]:
    config = make_config()
    result = handle_event(
        Proxy(config, create_client(config)), url_event(body=body, path=path), LambdaContext()
    )
    return result["statusCode"], json.loads(result["body"]), result["headers"]


def model_error(original_status: int, original_message: str) -> tuple[int, dict[str, str], bytes]:
    body = {
        "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
        "LogStreamArn": LOG_STREAM_ARN,
        "Message": f"Received client error ({original_status}) from primary with message {original_message}",
        "OriginalMessage": original_message,
        "OriginalStatusCode": original_status,
    }
    return 424, {"x-amzn-ErrorType": "ModelError"}, json.dumps(body).encode()


def test_a_signed_invoke_endpoint_call_reaches_the_runtime(stand_in: StandIn) -> None:
    stand_in.answers.append((200, {}, json.dumps(tgi_answer("Paris.")).encode()))
    status, body, _ = send({"inputs": "The capital of France is"})
    path, headers, sent = stand_in.requests[0]
    assert (status, body) == (200, {"generated_text": "Paris."})
    assert path == f"/endpoints/{ENDPOINT}/invocations"
    assert "/sagemaker/aws4_request" in headers["Authorization"]
    assert json.loads(sent)["inputs"] == "The capital of France is"


def test_tgi_422_on_the_wire_reaches_the_caller_as_422(stand_in: StandIn) -> None:
    message = "Input validation error: `inputs` must have less than 8191 tokens. Given: 9000"
    stand_in.answers.append(model_error(422, json.dumps({"error": message, "error_type": "validation"})))
    status, body, _ = send({"inputs": "long"})
    assert (status, body["error"]["message"]) == (422, message)


def test_tgi_429_on_the_wire_becomes_429_with_retry_after(stand_in: StandIn) -> None:
    stand_in.answers.append(
        model_error(429, json.dumps({"error": "Model is overloaded", "error_type": "overloaded"}))
    )
    status, _, headers = send({"inputs": "Hi"})
    assert (status, headers["retry-after"]) == (429, "2")


def test_a_container_timeout_on_the_wire_becomes_504(stand_in: StandIn) -> None:
    message = (
        "Your invocation timed out while waiting for a response from container primary. Review the latency "
        "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
    )
    body = {
        "ErrorCode": "SERVER_ERROR_FROM_MODEL",
        "LogStreamArn": LOG_STREAM_ARN,
        "Message": f'Received server error (0) from primary with message "{message}".',
        "OriginalMessage": message,
        "OriginalStatusCode": 0,
    }
    stand_in.answers.append((424, {"x-amzn-ErrorType": "ModelError"}, json.dumps(body).encode()))
    status, answer, _ = send({"inputs": "Hi"})
    assert (status, answer["error"]["type"]) == (504, "timeout")


def test_model_not_ready_on_the_wire_becomes_503(stand_in: StandIn) -> None:
    body = json.dumps({"message": "Model is not ready"}).encode()
    stand_in.answers.append((429, {"x-amzn-ErrorType": "ModelNotReadyException"}, body))
    status, _, headers = send({"inputs": "Hi"})
    assert (status, headers["retry-after"]) == (503, "30")


def test_missing_endpoint_on_the_wire_is_502_not_400(stand_in: StandIn) -> None:
    body = json.dumps({"message": f"Endpoint {ENDPOINT} of account 123456789012 not found."}).encode()
    stand_in.answers.append((400, {"x-amzn-ErrorType": "ValidationError"}, body))
    status, answer, _ = send({"inputs": "Hi"})
    assert (status, answer["error"]["type"]) == (502, "endpoint_error")


def test_an_openai_request_round_trips_over_http(stand_in: StandIn) -> None:
    stand_in.answers.append((200, {}, json.dumps(tgi_answer("Hello!", generated_tokens=3)).encode()))
    status, body, _ = send(
        {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}, "/v1/chat/completions"
    )
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "Hello!"
    assert body["usage"]["completion_tokens"] == 3
