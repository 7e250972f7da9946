"""The SageMaker runtime client, the call, and the mapping of its errors onto honest HTTP statuses."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from .config import Config
from .errors import ProxyError, model_overloaded, model_rejected_input
from .sagemaker_errors import container_timed_out, no_capacity
from .tgi import answer_of

CONNECT_TIMEOUT_SECONDS = 2
# The container must answer within 60 s; AWS advises a client read timeout of at least 70 s.
READ_TIMEOUT_SECONDS = 70
CONTAINER_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 3
_T = TypeVar("_T")

# Retried by the proxy itself (botocore's own retries are off): only errors that say the request never
# reached the model. A read timeout is not retried: the model may still be generating, and a second 70 s wait
# would outlive the caller. ModelNotReady lasts minutes, so it is answered at once with Retry-After.
RETRYABLE_CODES = frozenset({"ThrottlingException", "Throttling", "ServiceUnavailable", "InternalFailure"})

# While an inference component has no copy (scaled in to zero, or still scaling out from zero), SageMaker
# refuses invocations with a ValidationError reading "Inference Component has no capacity to process this
# request. ApplicationAutoScaling may be in-progress (if configured) or try to increase the capacity by
# invoking UpdateInferenceComponentRuntimeConfig API." (AWS Machine Learning Blog, "Unlock cost savings with
# the new scale down to zero feature in SageMaker Inference", 2024-12). Each refusal also counts in the
# NoCapacityInvocationFailures metric that triggers the scale-out. Matched on "no capacity" alone, ignoring
# case and spacing (sagemaker_errors.no_capacity, which mistral-bench reads too), so a rewording around it still
# maps; any other ValidationError keeps its own mapping.
# The same post measured about 5 minutes from the first refused request to a serving copy (an 8B model with
# container caching); a fresh instance here also downloads about 14 GB of weights through the VPC.
WAKE_MINUTES = "5-10"
WAKE_RETRY_AFTER_SECONDS = 60


def create_client(config: Config) -> Any:
    """One client per container: short connect timeout, 70 s read timeout, no hidden retries."""
    return boto3.client(
        "sagemaker-runtime",
        region_name=config.region,
        config=BotoConfig(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1, "mode": "standard"},
            tcp_keepalive=True,
            user_agent_extra="mistral-invoke-proxy",
        ),
    )


def is_retryable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in RETRYABLE_CODES
    return isinstance(exc, ConnectTimeoutError) or (
        isinstance(exc, BotoConnectionError) and not isinstance(exc, ReadTimeoutError)
    )


def invoke_kwargs(
    endpoint_name: str, payload: bytes, inference_component_name: str | None = None
) -> dict[str, Any]:
    """The arguments every invocation shares, buffered or streamed: endpoint, component, content types, body."""
    kwargs: dict[str, Any] = {
        "EndpointName": endpoint_name,
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": payload,
    }
    if inference_component_name:
        kwargs["InferenceComponentName"] = inference_component_name
    return kwargs


def invoke(
    client: Any,
    endpoint_name: str,
    payload: bytes,
    *,
    inference_component_name: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    remaining_ms: Callable[[], int] | None = None,
) -> tuple[dict[str, Any], int]:
    """Call InvokeEndpoint, retrying only what is safe to retry; returns (TGI answer, attempts)."""
    kwargs = invoke_kwargs(endpoint_name, payload, inference_component_name)

    def call() -> dict[str, Any]:
        return _parse_answer(client.invoke_endpoint(**kwargs)["Body"].read())

    return _with_retries(call, endpoint_name, sleep, remaining_ms)


def invoke_stream(
    client: Any,
    endpoint_name: str,
    payload: bytes,
    *,
    inference_component_name: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    remaining_ms: Callable[[], int] | None = None,
) -> tuple[Any, int]:
    """Call InvokeEndpointWithResponseStream with the same retries (nothing has reached the caller yet);
    returns (botocore's event stream of PayloadParts, attempts)."""
    kwargs = invoke_kwargs(endpoint_name, payload, inference_component_name)
    kwargs["Accept"] = "text/event-stream"  # what TGI streams

    def call() -> Any:
        return client.invoke_endpoint_with_response_stream(**kwargs)["Body"]

    return _with_retries(call, endpoint_name, sleep, remaining_ms)


def _with_retries(
    call: Callable[[], _T],
    endpoint_name: str,
    sleep: Callable[[float], None],
    remaining_ms: Callable[[], int] | None,
) -> tuple[_T, int]:
    attempt = 0
    while True:
        attempt += 1
        try:
            return call(), attempt
        except (ClientError, BotoCoreError) as exc:
            if attempt >= MAX_ATTEMPTS or not is_retryable(exc) or not _time_for_another(remaining_ms):
                raise map_error(exc, endpoint_name, attempt) from None
        # Full jitter backoff: 0-0.2 s, then 0-0.4 s.
        sleep(random.uniform(0, 0.1 * 2**attempt))


def _time_for_another(remaining_ms: Callable[[], int] | None) -> bool:
    return remaining_ms is None or remaining_ms() > (READ_TIMEOUT_SECONDS + 5) * 1000


def _parse_answer(raw: bytes) -> dict[str, Any]:
    answer = answer_of(raw)
    if not isinstance(answer, dict) or not isinstance(answer.get("generated_text"), str):
        raise ProxyError(
            502,
            "upstream_error",
            "The model answered in an unexpected shape; see the proxy logs for this request id.",
            # The shape, never the content: it may hold generated text.
            log_fields={
                "upstream_body_bytes": len(raw),
                "upstream_body_keys": sorted(answer)[:20]
                if isinstance(answer, dict)
                else type(answer).__name__,
            },
        )
    return answer


def _tgi_message(original: object) -> str:
    """TGI errors are ``{"error": str, "error_type": str}``; fall back to the raw text."""
    if not isinstance(original, str):
        return ""
    try:
        parsed = json.loads(original)
    except ValueError:
        return original[:1000]
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return str(parsed["error"])
    return original[:1000]


def _timeout(what: str, log: dict[str, Any]) -> ProxyError:
    return ProxyError(
        504,
        "timeout",
        f"{what} Long generations take time: ask for fewer max_new_tokens, or retry later.",
        log_fields=log,
    )


def map_error(exc: Exception, endpoint_name: str, attempts: int = 1) -> ProxyError:
    """Turn a botocore exception into the error the caller receives. Upstream details go to the logs."""
    log: dict[str, Any] = {"upstream_exception": type(exc).__name__, "attempts": attempts}
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        what = "answer" if isinstance(exc, ReadTimeoutError) else "accept the connection"
        limit = READ_TIMEOUT_SECONDS if isinstance(exc, ReadTimeoutError) else CONNECT_TIMEOUT_SECONDS
        return _timeout(f"The model endpoint did not {what} within {limit} s.", log)
    if not isinstance(exc, ClientError):
        log["upstream_message"] = str(exc)
        return ProxyError(
            502, "upstream_error", "The proxy could not reach the model endpoint.", log_fields=log
        )
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    log.update(upstream_code=code, upstream_message=error.get("Message", ""))
    if code == "ModelError":
        return _model_error(exc, log)
    return _service_error(code, str(error.get("Message", "")), endpoint_name, log)


def _model_error(exc: ClientError, log: dict[str, Any]) -> ProxyError:
    """A ModelError: the container answered with an error status (TGI's own), or outlived its 60 s."""
    original_status = exc.response.get("OriginalStatusCode")
    message = _tgi_message(exc.response.get("OriginalMessage"))
    log.update(original_status_code=original_status, log_stream_arn=exc.response.get("LogStreamArn"))
    error = exc.response.get("Error", {})
    # SageMaker's answer when the container outlives its 60 s: no model status, "... timed out while waiting
    # for a response from container ..." (sagemaker_errors.container_timed_out).
    if container_timed_out(original_status, error.get("Message"), exc.response.get("OriginalMessage")):
        return _timeout(
            f"The model did not answer within SageMaker's {CONTAINER_TIMEOUT_SECONDS} s limit.", log
        )
    if original_status == 422:
        return model_rejected_input(message, log)
    if original_status == 429:
        return model_overloaded(log)
    log["upstream_message"] = message
    return ProxyError(
        502,
        "model_error",
        f"The model failed to answer (status {original_status}); the proxy's log line for this "
        "request id names the model's log stream.",
        log_fields=log,
    )


def _service_error(code: str, message: str, endpoint_name: str, log: dict[str, Any]) -> ProxyError:
    """An error of SageMaker runtime itself (not of the model's container), by its code."""
    if code == "ModelNotReadyException":
        return ProxyError(
            503,
            "model_not_ready",
            "The model is not ready to serve yet (starting or scaling); retry later.",
            headers={"Retry-After": "30"},
            log_fields=log,
        )
    if code in ("ThrottlingException", "Throttling"):
        return ProxyError(
            429,
            "throttled",
            "SageMaker is throttling calls to the endpoint; retry after a short wait.",
            headers={"Retry-After": "1"},
            log_fields=log,
        )
    if code == "ServiceUnavailable":
        return ProxyError(
            503,
            "service_unavailable",
            "SageMaker runtime is unavailable; retry later.",
            headers={"Retry-After": "5"},
            log_fields=log,
        )
    if code == "ValidationError" and no_capacity(message):
        return ProxyError(
            503,
            "model_scaling_up",
            f"The model is starting from zero instances (it scales in to zero when idle); this takes about "
            f"{WAKE_MINUTES} minutes. Retry after the Retry-After delay (mistral-invoke waits by itself).",
            headers={"Retry-After": str(WAKE_RETRY_AFTER_SECONDS)},
            log_fields=log,
        )
    if code == "ValidationError":
        # After the proxy's own validation this is the deployment's fault (endpoint missing, not InService,
        # ...), not the caller's: a 400 would send them looking for a mistake they did not make.
        return ProxyError(
            502,
            "endpoint_error",
            f"SageMaker refused the call to endpoint {endpoint_name!r}: check that it exists and is "
            "InService. Details are in the proxy's logs for this request id.",
            log_fields=log,
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return ProxyError(
            502,
            "endpoint_error",
            "The proxy's role is not allowed to invoke the endpoint (sagemaker:InvokeEndpoint).",
            log_fields=log,
        )
    return ProxyError(
        502,
        "upstream_error",
        f"SageMaker runtime answered with an error ({code or 'unknown'}).",
        log_fields=log,
    )
