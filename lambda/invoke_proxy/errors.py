"""The one error type the core raises; the transport turns it into ``{"error": {...}, "request_id": ...}``."""

from __future__ import annotations

from typing import Any


class ProxyError(Exception):
    """An error with the HTTP status, error type and message the caller receives.

    ``log_fields`` go to the log line only (never to the caller): upstream messages, log stream ARNs.
    """

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        log_fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.log_fields = log_fields or {}

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error, "request_id": request_id}


def invalid(message: str, param: str | None = None) -> ProxyError:
    """A 400 for a request the caller must fix."""
    return ProxyError(400, "invalid_request_error", message, param=param)


def model_rejected_input(message: str, log_fields: dict[str, Any]) -> ProxyError:
    """A 422: TGI refused the input (its validation error), buffered or streamed."""
    return ProxyError(
        422, "model_validation_error", message or "The model rejected the input.", log_fields=log_fields
    )


def model_overloaded(log_fields: dict[str, Any]) -> ProxyError:
    """A 429: TGI is at its concurrent request limit (MAX_CONCURRENT_REQUESTS), buffered or streamed."""
    return ProxyError(
        429,
        "model_overloaded",
        "The model is serving as many requests as it can; retry after a short wait.",
        headers={"Retry-After": "2"},
        log_fields=log_fields,
    )
