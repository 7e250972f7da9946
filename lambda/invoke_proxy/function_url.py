"""Door events, BUFFERED, to and from the transport-independent core.

Two event shapes reach the buffered handler: a function URL's (API Gateway payload format 2.0: the method in
``requestContext.http.method``, the path in ``rawPath``) and a private REST API's Lambda proxy integration
(payload format 1.0: ``httpMethod`` and ``path``, the resource path without the stage; API Gateway Developer
Guide, "Input format of a Lambda function for proxy integration"). Both answer with ``statusCode``, ``headers``,
``body`` and ``isBase64Encoded`` (the same guide's "Output format", and the Lambda Developer Guide's function URL
response format). The caller is read from either event's request context (``identity.caller_name``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from .core import Proxy
from .encoding import json_text
from .errors import ProxyError
from .identity import caller_name
from .records import Response


def handle_event(proxy: Proxy, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Translate a door's event into a core call and the core's answer into the door's response."""
    request_context = event.get("requestContext") or {}
    request_id = (
        getattr(context, "aws_request_id", None) or request_context.get("requestId") or str(uuid.uuid4())
    )
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    try:
        body = event_body(event)
    except ProxyError as exc:
        return to_function_url(Response(exc.status, exc.body(request_id), exc.headers), request_id)
    if "httpMethod" in event:  # payload format 1.0: a REST API's proxy integration
        method, path = event.get("httpMethod") or "GET", event.get("path") or "/"
    else:
        method, path = request_context.get("http", {}).get("method", "GET"), event.get("rawPath", "/")
    caller = caller_name(request_context)
    response = proxy.handle(method, path, body, request_id, remaining_ms=remaining, caller=caller)
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
        "body": json_text(response.body),
        "isBase64Encoded": False,
    }
