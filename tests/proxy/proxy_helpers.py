"""Helpers for the invoke proxy tests: real-shaped function URL events and TGI answers, Stubber queues."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from botocore.stub import Stubber

from invoke_proxy.config import Config, load_config
from mistral_client import function_url
from mistral_client.standin import StandIn

ENDPOINT = "mistral-test-endpoint"
URL_DOMAIN = "abc.lambda-url.us-east-1.on.aws"
LOG_STREAM_ARN = (
    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/mistral-test-endpoint:"
    "log-stream:AllTraffic/i-0123456789abcdef0"
)


def make_config(**env: str) -> Config:
    return load_config({"ENDPOINT_NAME": ENDPOINT, "AWS_REGION": "us-east-1", **env})


class Capture:
    """Matches anything in Stubber's expected_params and keeps what it saw."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __eq__(self, other: object) -> bool:
        self.values.append(other)
        return True

    __hash__ = None  # type: ignore[assignment]

    @property
    def json(self) -> Any:
        value = self.values[-1]
        return json.loads(value.decode("utf-8") if isinstance(value, bytes) else value)


def tgi_answer(
    text: str = "Paris.",
    *,
    finish_reason: str = "eos_token",
    generated_tokens: int = 3,
    prefill: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """TGI 1.1's answer to a request with details: true."""
    return [
        {
            "generated_text": text,
            "details": {
                "finish_reason": finish_reason,
                "generated_tokens": generated_tokens,
                "seed": None,
                "prefill": prefill or [],
                "tokens": [
                    {"id": 1, "text": "x", "logprob": -0.1, "special": False} for _ in range(generated_tokens)
                ],
            },
        }
    ]


def queue_answer(stubber: Stubber, answer: Any = None, capture: Capture | None = None) -> Capture:
    capture = capture or Capture()
    raw = json.dumps(tgi_answer() if answer is None else answer).encode()
    stubber.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"},
        expected_params={
            "EndpointName": ENDPOINT,
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": capture,
        },
    )
    return capture


def queue_raw_answer(stubber: Stubber, raw: bytes) -> None:
    stubber.add_response(
        "invoke_endpoint", {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "text/html"}
    )


def queue_error(
    stubber: Stubber, code: str, status: int, message: str = "error", **modeled_fields: Any
) -> None:
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        modeled_fields=modeled_fields or None,
    )


def queue_model_error(stubber: Stubber, original_status: int, original_message: str) -> None:
    queue_error(
        stubber,
        "ModelError",
        424,
        f'Received client error ({original_status}) from primary with message "{original_message}".',
        OriginalStatusCode=original_status,
        OriginalMessage=original_message,
        LogStreamArn=LOG_STREAM_ARN,
    )


#: The IAM principal that signs the tests' function URL events: an assumed role of the function's own account.
CALLER_ARN = "arn:aws:sts::123456789012:assumed-role/app-role/botocore-session-1700000000"
#: Its stable name in log and metric lines (``invoke_proxy.identity``).
CALLER = "role/app-role"


def url_event(
    method: str = "POST",
    path: str = "/generate",
    body: Any = None,
    *,
    raw_body: str | bytes | None = None,
    base64_encoded: bool = False,
    caller_arn: str | None = CALLER_ARN,
) -> dict[str, Any]:
    """A function URL event from the package's one builder (``mistral_client.function_url.url_event``), as Lambda
    delivers it to a deployed proxy: ``body`` is sent as JSON text, ``raw_body`` as given (bytes, or any body
    with ``base64_encoded``, base64-encoded); signed by ``caller_arn`` (None: an unsigned call)."""
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    if base64_encoded and isinstance(raw_body, str):
        raw_body = raw_body.encode()
    return function_url.url_event(
        method,
        path,
        body=raw_body,
        domain=URL_DOMAIN,
        account_id="123456789012",
        caller_arn=caller_arn,
        request_id="url-request-id",
    )


class LambdaContext:
    aws_request_id = "lambda-request-id"
    function_name = "invoke-proxy"

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


Call = Callable[..., tuple[int, dict[str, Any], dict[str, str]]]


class _Raw(io.BytesIO):
    """What botocore reads from urllib3: ``read`` for streaming bodies, ``stream`` for the others."""

    def stream(self, **_: Any) -> Any:
        yield self.read()


def canned_http(
    client: Any, body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> list[int]:
    """Answer every InvokeEndpoint at botocore's HTTP seam (serialization, signing and parsing all run).

    Returns a list that grows by one per call that reached the HTTP layer.
    """
    calls: list[int] = []
    response_headers = {"Content-Type": "application/json", **(headers or {})}

    def send(request: Any, **_: Any) -> AWSResponse:
        calls.append(1)
        return AWSResponse(request.url, status, response_headers, _Raw(body))

    client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", send)
    return calls


def model_error(sagemaker: StandIn, original_status: int, original_message: str) -> None:
    """Queue on the stand-in SageMaker's ModelError for a container answer of ``original_status``."""
    body = {
        "ErrorCode": "CLIENT_ERROR_FROM_MODEL",
        "LogStreamArn": LOG_STREAM_ARN,
        "Message": f"Received client error ({original_status}) from primary with message {original_message}",
        "OriginalMessage": original_message,
        "OriginalStatusCode": original_status,
    }
    sagemaker.reply(424, json.dumps(body).encode(), {"x-amzn-ErrorType": "ModelError"})
