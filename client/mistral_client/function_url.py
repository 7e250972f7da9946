"""Function URL events: what Lambda hands the buffered function for an HTTP request (payload format 2.0).

For running the buffered handler locally (the tests' loopback server, the deploy rehearsal, the proxy's
benchmark): ``url_event`` builds the event a function URL would deliver for a request.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any


def url_event(
    method: str,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    *,
    domain: str = "localhost",
    account_id: str | None = None,
    caller_arn: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway payload format 2.0 event, as a function URL delivers it to the function.

    The one builder of these events: the tests' local server (tests/function_url_server.py), the deploy
    rehearsal, the proxy benchmark and the tests use it. ``body`` as bytes arrives base64-encoded
    (``isBase64Encoded``), as Lambda delivers a binary body; as str it arrives as is, as Lambda delivers a text
    one; ``None`` or no bytes leaves ``body`` out, as for a GET. ``headers`` default to a JSON request to ``domain`` and are lower-cased, as Lambda does.
    ``account_id`` is the function owner's account; ``caller_arn`` adds the ``authorizer.iam`` block of a
    SigV4-signed (AWS_IAM) call.
    """
    sent = {
        k.lower(): v for k, v in (headers or {"content-type": "application/json", "host": domain}).items()
    }
    prefix = domain.split(".", 1)[0]
    now = time.time()
    context: dict[str, Any] = {
        "apiId": prefix,
        "domainName": domain,
        "domainPrefix": prefix,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": sent.get("user-agent", ""),
        },
        "requestId": request_id or str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if account_id is not None:
        context["accountId"] = account_id
    if caller_arn is not None:
        context["authorizer"] = {"iam": {"accountId": caller_arn.split(":")[4], "userArn": caller_arn}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": sent,
        "requestContext": context,
        "isBase64Encoded": isinstance(body, bytes) and bool(body),
    }
    if isinstance(body, bytes):
        if body:
            event["body"] = base64.b64encode(body).decode()
    elif body is not None:
        event["body"] = body
    return event
