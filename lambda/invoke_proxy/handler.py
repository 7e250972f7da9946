"""Lambda function URL adapter (payload format 2.0, BUFFERED mode) around the transport-independent core.

Configuration and the SageMaker client are created once per container, at import.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from typing import Any

from .config import load_config
from .core import Proxy, Response
from .errors import ProxyError
from .sagemaker import create_client

CONFIG = load_config(os.environ)
PROXY = Proxy(CONFIG, create_client(CONFIG))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_event(PROXY, event, context)


def handle_event(proxy: Proxy, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Translate a function URL event into a core call and the core's answer into a function URL response."""
    http = event.get("requestContext", {}).get("http", {})
    request_id = (
        getattr(context, "aws_request_id", None)
        or event.get("requestContext", {}).get("requestId")
        or str(uuid.uuid4())
    )
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    try:
        body = event_body(event)
    except ProxyError as exc:
        return to_function_url(Response(exc.status, exc.body(request_id), exc.headers), request_id)
    response = proxy.handle(
        http.get("method", "GET"), event.get("rawPath", "/"), body, request_id, remaining_ms=remaining
    )
    return to_function_url(response, request_id)


def event_body(event: dict[str, Any]) -> bytes:
    raw = event.get("body")
    if raw is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ProxyError(
                400, "invalid_request_error", "The base64 request body could not be decoded."
            ) from None
    # Strings from the event are Unicode already; surrogatepass lets a lone surrogate reach the UTF-8 check.
    return str(raw).encode("utf-8", "surrogatepass")


def to_function_url(response: Response, request_id: str) -> dict[str, Any]:
    headers = {"content-type": "application/json", "x-request-id": request_id}
    headers.update({name.lower(): value for name, value in response.headers.items()})
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": json.dumps(response.body, ensure_ascii=False),
        "isBase64Encoded": False,
    }
