"""The proxy against a loopback stand-in for the SageMaker runtime, reached through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``: real HTTP, real botocore serialization, signing and error parsing."""

from __future__ import annotations

import json
from typing import Any

from proxy_helpers import (
    ENDPOINT,
    LOG_STREAM_ARN,
    LambdaContext,
    make_config,
    model_error,
    tgi_answer,
    url_event,
)

from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client
from mistral_client.standin import StandIn

# The stand-in is the tests' one (mistral_client.standin, the ``sagemaker`` fixture of tests/conftest.py): each
# test queues the answer it plays (``reply``) and reads the request it received.


def send(body: dict[str, Any], path: str = "/generate") -> tuple[int, dict[str, Any], dict[str, str]]:
    config = make_config()
    result = handle_event(
        Proxy(config, create_client(config)), url_event(body=body, path=path), LambdaContext()
    )
    return result["statusCode"], json.loads(result["body"]), result["headers"]


def test_a_signed_invoke_endpoint_call_reaches_the_runtime(sagemaker: StandIn) -> None:
    sagemaker.reply(200, json.dumps(tgi_answer("Paris.")).encode())
    status, body, _ = send({"inputs": "The capital of France is"})
    request = sagemaker.requests[0]
    assert (status, body) == (200, {"generated_text": "Paris."})
    assert request.path == f"/endpoints/{ENDPOINT}/invocations"
    assert "/sagemaker/aws4_request" in request.headers["Authorization"]
    assert request.json()["inputs"] == "The capital of France is"


def test_tgi_422_on_the_wire_reaches_the_caller_as_422(sagemaker: StandIn) -> None:
    message = "Input validation error: `inputs` must have less than 8191 tokens. Given: 9000"
    model_error(sagemaker, 422, json.dumps({"error": message, "error_type": "validation"}))
    status, body, _ = send({"inputs": "long"})
    assert (status, body["error"]["message"]) == (422, message)


def test_tgi_429_on_the_wire_becomes_429_with_retry_after(sagemaker: StandIn) -> None:
    model_error(sagemaker, 429, json.dumps({"error": "Model is overloaded", "error_type": "overloaded"}))
    status, _, headers = send({"inputs": "Hi"})
    assert (status, headers["retry-after"]) == (429, "2")


def test_a_container_timeout_on_the_wire_becomes_504(sagemaker: StandIn) -> None:
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
    sagemaker.reply(424, json.dumps(body).encode(), {"x-amzn-ErrorType": "ModelError"})
    status, answer, _ = send({"inputs": "Hi"})
    assert (status, answer["error"]["type"]) == (504, "timeout")


def test_model_not_ready_on_the_wire_becomes_503(sagemaker: StandIn) -> None:
    body = json.dumps({"message": "Model is not ready"}).encode()
    sagemaker.reply(429, body, {"x-amzn-ErrorType": "ModelNotReadyException"})
    status, _, headers = send({"inputs": "Hi"})
    assert (status, headers["retry-after"]) == (503, "30")


def test_missing_endpoint_on_the_wire_is_502_not_400(sagemaker: StandIn) -> None:
    body = json.dumps({"message": f"Endpoint {ENDPOINT} of account 123456789012 not found."}).encode()
    sagemaker.reply(400, body, {"x-amzn-ErrorType": "ValidationError"})
    status, answer, _ = send({"inputs": "Hi"})
    assert (status, answer["error"]["type"]) == (502, "endpoint_error")


def test_an_openai_request_round_trips_over_http(sagemaker: StandIn) -> None:
    sagemaker.reply(200, json.dumps(tgi_answer("Hello!", generated_tokens=3)).encode())
    status, body, _ = send(
        {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}, "/v1/chat/completions"
    )
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "Hello!"
    assert body["usage"]["completion_tokens"] == 3
