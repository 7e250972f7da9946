"""Model and service errors reach the caller with an honest status, a clear message and no stack trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from proxy_helpers import (
    LOG_STREAM_ARN,
    Call,
    LambdaContext,
    queue_answer,
    queue_error,
    queue_model_error,
    queue_raw_answer,
    url_event,
)

from invoke_proxy.config import Config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client

TGI_422 = json.dumps(
    {
        "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. "
        "Given: 8000 `inputs` tokens and 512 `max_new_tokens`",
        "error_type": "validation",
    }
)
GENERATE = url_event(body={"inputs": "Hi"})


def no_trace(body: dict[str, Any]) -> None:
    text = json.dumps(body)
    assert "Traceback" not in text and 'File "' not in text


# --- ModelError (TGI's own status inside SageMaker's 424) --------------------------------------------------


def test_tgi_422_reaches_the_caller_as_422_with_tgis_message(call: Call, stubber: Stubber) -> None:
    queue_model_error(stubber, 422, TGI_422)
    status, body, _ = call(GENERATE)
    assert status == 422
    assert body["error"]["type"] == "model_validation_error"
    assert body["error"]["message"] == json.loads(TGI_422)["error"]


def test_tgi_422_with_a_plain_text_message_keeps_the_text(call: Call, stubber: Stubber) -> None:
    queue_model_error(stubber, 422, "Input validation error: truncate must be strictly positive")
    _, body, _ = call(GENERATE)
    assert body["error"]["message"] == "Input validation error: truncate must be strictly positive"


def test_tgi_429_becomes_429_with_retry_after(call: Call, stubber: Stubber) -> None:
    queue_model_error(stubber, 429, json.dumps({"error": "Model is overloaded", "error_type": "overloaded"}))
    status, body, headers = call(GENERATE)
    assert status == 429
    assert body["error"]["type"] == "model_overloaded"
    assert headers["retry-after"] == "2"


@pytest.mark.parametrize("original_status", [424, 500, 400])
def test_other_model_errors_become_502(call: Call, stubber: Stubber, original_status: int) -> None:
    queue_model_error(
        stubber, original_status, json.dumps({"error": "CUDA out of memory", "error_type": "x"})
    )
    status, body, _ = call(GENERATE)
    assert status == 502
    assert body["error"]["type"] == "model_error"


def test_model_error_body_names_neither_the_log_stream_nor_the_model_message(
    call: Call, stubber: Stubber
) -> None:
    queue_model_error(stubber, 500, json.dumps({"error": "CUDA out of memory", "error_type": "x"}))
    _, body, _ = call(GENERATE)
    assert "log-stream" not in json.dumps(body) and "CUDA" not in json.dumps(body)


def test_model_error_log_names_the_log_stream(
    call: Call, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    queue_model_error(stubber, 500, json.dumps({"error": "CUDA out of memory", "error_type": "x"}))
    with caplog.at_level("INFO", logger="invoke_proxy"):
        call(GENERATE)
    record = caplog.records[-1]
    assert record.__dict__["log_stream_arn"] == LOG_STREAM_ARN
    assert record.__dict__["upstream_message"] == "CUDA out of memory"


# SageMaker's own answer when the container outlives its 60 s: a ModelError with no model status.
CONTAINER_TIMEOUT = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency "
    "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
CONTAINER_TIMEOUT_ERROR = f'Received server error (0) from primary with message "{CONTAINER_TIMEOUT}".'


def test_a_container_timeout_becomes_504_timeout(call: Call, stubber: Stubber) -> None:
    queue_error(
        stubber,
        "ModelError",
        424,
        CONTAINER_TIMEOUT_ERROR,
        OriginalStatusCode=0,
        OriginalMessage=CONTAINER_TIMEOUT_ERROR,
        LogStreamArn=LOG_STREAM_ARN,
    )
    status, body, _ = call(GENERATE)
    assert (status, set(body), body["error"]["type"]) == (504, {"error", "request_id"}, "timeout")
    assert "60 s" in body["error"]["message"] and "max_new_tokens" in body["error"]["message"]


def test_a_container_timeout_without_an_original_status_becomes_504(call: Call, stubber: Stubber) -> None:
    queue_error(stubber, "ModelError", 424, CONTAINER_TIMEOUT_ERROR)
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (504, "timeout")


def test_a_container_timeout_log_names_the_log_stream(
    call: Call, stubber: Stubber, caplog: pytest.LogCaptureFixture
) -> None:
    queue_error(
        stubber,
        "ModelError",
        424,
        CONTAINER_TIMEOUT_ERROR,
        OriginalStatusCode=0,
        OriginalMessage=CONTAINER_TIMEOUT,
        LogStreamArn=LOG_STREAM_ARN,
    )
    with caplog.at_level("INFO", logger="invoke_proxy"):
        call(GENERATE)
    record = caplog.records[-1]
    assert (record.levelname, record.__dict__["status"]) == ("ERROR", 504)
    assert record.__dict__["log_stream_arn"] == LOG_STREAM_ARN


def test_a_model_error_with_a_model_status_is_not_read_as_a_container_timeout(
    call: Call, stubber: Stubber
) -> None:
    queue_model_error(stubber, 500, "upstream timed out while waiting for a response from container x")
    status, _, _ = call(GENERATE)
    assert status == 502


# --- SageMaker service errors ------------------------------------------------------------------------------


def test_model_not_ready_becomes_503_with_retry_after(call: Call, stubber: Stubber) -> None:
    queue_error(stubber, "ModelNotReadyException", 429, "Model is not ready")
    status, body, headers = call(GENERATE)
    assert (status, body["error"]["type"], headers["retry-after"]) == (503, "model_not_ready", "30")


def test_throttling_that_persists_becomes_429_with_retry_after(call: Call, stubber: Stubber) -> None:
    for _ in range(3):
        queue_error(stubber, "ThrottlingException", 400, "Rate exceeded")
    status, body, headers = call(GENERATE)
    assert (status, body["error"]["type"], headers["retry-after"]) == (429, "throttled", "1")


def test_service_unavailable_that_persists_becomes_503_with_retry_after(call: Call, stubber: Stubber) -> None:
    for _ in range(3):
        queue_error(stubber, "ServiceUnavailable", 503)
    status, _, headers = call(GENERATE)
    assert (status, headers["retry-after"]) == (503, "5")


def test_internal_failure_that_persists_becomes_502(call: Call, stubber: Stubber) -> None:
    for _ in range(3):
        queue_error(stubber, "InternalFailure", 500)
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (502, "upstream_error")


def test_sagemaker_validation_error_is_the_deployments_fault_not_the_callers(
    call: Call, stubber: Stubber
) -> None:
    queue_error(stubber, "ValidationError", 400, "Endpoint mistral-test-endpoint of account 1234 not found.")
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (502, "endpoint_error")
    assert "InService" in body["error"]["message"]
    assert "1234" not in body["error"]["message"]


def test_access_denied_to_the_endpoint_is_502(call: Call, stubber: Stubber) -> None:
    queue_error(stubber, "AccessDeniedException", 403, "not authorized to perform: sagemaker:InvokeEndpoint")
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (502, "endpoint_error")


def test_an_unknown_service_error_is_502(call: Call, stubber: Stubber) -> None:
    queue_error(stubber, "InternalDependencyException", 530)
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (502, "upstream_error")


def test_an_answer_without_generated_text_is_502(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber, {"unexpected": True})
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (502, "upstream_error")


# --- retries ----------------------------------------------------------------------------------------------


def test_throttling_is_retried_and_a_later_success_answers_200(
    call: Call, stubber: Stubber, sleeps: list[float]
) -> None:
    queue_error(stubber, "ThrottlingException", 400, "Rate exceeded")
    queue_answer(stubber)
    status, _, _ = call(GENERATE)
    assert status == 200
    assert len(sleeps) == 1


def test_a_model_error_is_not_retried(call: Call, stubber: Stubber, sleeps: list[float]) -> None:
    queue_model_error(stubber, 422, TGI_422)
    call(GENERATE)
    assert sleeps == []


def test_model_not_ready_is_not_retried(call: Call, stubber: Stubber, sleeps: list[float]) -> None:
    queue_error(stubber, "ModelNotReadyException", 429)
    call(GENERATE)
    assert sleeps == []


def test_no_retry_when_the_lambda_has_too_little_time_left(stubber: Stubber, proxy: Proxy) -> None:
    queue_error(stubber, "ThrottlingException", 400)
    result = handle_event(proxy, GENERATE, LambdaContext(remaining_ms=30_000))
    assert result["statusCode"] == 429


# --- timeouts and connection failures (raised where botocore's HTTP layer raises them) ---------------------


def failing_client(config: Config, exc: Exception) -> Any:
    client = create_client(config)
    attempts: list[int] = []

    def fail(**_: Any) -> AWSResponse:
        attempts.append(1)
        raise exc

    client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", fail)
    client.attempts = attempts
    return client


ENDPOINT_URL = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/x/invocations"


def test_read_timeout_becomes_504(config: Config) -> None:
    client = failing_client(config, ReadTimeoutError(endpoint_url=ENDPOINT_URL))
    result = handle_event(Proxy(config, client, sleep=lambda _: None), GENERATE, LambdaContext())
    assert result["statusCode"] == 504
    assert json.loads(result["body"])["error"]["type"] == "timeout"


def test_read_timeout_is_not_retried(config: Config) -> None:
    client = failing_client(config, ReadTimeoutError(endpoint_url=ENDPOINT_URL))
    handle_event(Proxy(config, client, sleep=lambda _: None), GENERATE, LambdaContext())
    assert len(client.attempts) == 1


def test_connect_timeout_is_retried_then_becomes_504(config: Config) -> None:
    client = failing_client(config, ConnectTimeoutError(endpoint_url=ENDPOINT_URL))
    result = handle_event(Proxy(config, client, sleep=lambda _: None), GENERATE, LambdaContext())
    assert result["statusCode"] == 504
    assert len(client.attempts) == 3


def test_endpoint_connection_failure_becomes_502(config: Config) -> None:
    client = failing_client(config, EndpointConnectionError(endpoint_url=ENDPOINT_URL))
    result = handle_event(Proxy(config, client, sleep=lambda _: None), GENERATE, LambdaContext())
    assert result["statusCode"] == 502


def test_the_client_has_a_short_connect_timeout_and_a_long_read_timeout(client: Any) -> None:
    assert client.meta.config.connect_timeout <= 5
    assert client.meta.config.read_timeout >= 70


def test_botocore_does_not_retry_behind_the_proxys_back(client: Any) -> None:
    assert client.meta.config.retries["total_max_attempts"] == 1


# --- never a stack trace ----------------------------------------------------------------------------------


class Exploding:
    def invoke_endpoint(self, **_: Any) -> Any:
        raise RuntimeError("secret internal detail")


def test_an_unexpected_failure_is_500_without_a_stack_trace(config: Config) -> None:
    result = handle_event(Proxy(config, Exploding()), GENERATE, LambdaContext())
    body = json.loads(result["body"])
    assert result["statusCode"] == 500
    assert body["error"]["type"] == "internal_error"
    assert "secret" not in result["body"]
    no_trace(body)


def test_an_unexpected_failure_is_logged_with_its_trace(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="invoke_proxy"):
        handle_event(Proxy(config, Exploding()), GENERATE, LambdaContext())
    assert any(record.exc_info for record in caplog.records)


def test_an_answer_that_is_not_json_is_502(call: Call, stubber: Stubber) -> None:
    queue_raw_answer(stubber, b"<html>gateway</html>")
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["type"]) == (502, "upstream_error")
    assert "html" not in json.dumps(body)


def test_a_model_error_without_an_original_message_still_maps(call: Call, stubber: Stubber) -> None:
    queue_error(stubber, "ModelError", 424, "Received client error (422)", OriginalStatusCode=422)
    status, body, _ = call(GENERATE)
    assert (status, body["error"]["message"]) == (422, "The model rejected the input.")


def test_a_tgi_json_message_without_an_error_field_is_passed_as_text(call: Call, stubber: Stubber) -> None:
    queue_model_error(stubber, 422, '{"detail": "bad"}')
    _, body, _ = call(GENERATE)
    assert body["error"]["message"] == '{"detail": "bad"}'
