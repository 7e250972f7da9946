"""Door events: what Lambda hands the proxy's function for an HTTP request through each door.

For running the proxy locally (the tests' loopback servers, the deploy rehearsal, the proxy's benchmark):
``url_event`` builds the event a function URL delivers (payload format 2.0), ``rest_api_event`` the one a REST
API's Lambda proxy integration delivers (payload format 1.0), buffered or streamed alike.
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


def rest_api_event(
    method: str,
    path: str,
    body: str | None = None,
    *,
    stage: str = "prod",
    api_id: str = "a1b2c3d4e5",
    region: str = "eu-west-1",
    account_id: str = "123456789012",
    caller_arn: str | None = None,
    vpce_id: str = "vpce-0123456789abcdef0",
    request_id: str | None = None,
) -> dict[str, Any]:
    """A REST API Lambda proxy integration event (payload format 1.0), as a private API with IAM authorization
    delivers it, in STREAM mode too (the input format is the same: API Gateway Developer Guide, "Set up a Lambda
    proxy integration with payload response streaming", and "Input format of a Lambda function for proxy
    integration" for the fields).

    ``path`` is the resource path, without the stage (``requestContext.path`` has it); ``account_id`` owns the
    API; ``caller_arn`` fills ``requestContext.identity`` as IAM authorization does (None: an unsigned call);
    ``vpce_id`` is the interface endpoint the request came through (private APIs only).
    """
    domain = f"{api_id}.execute-api.{region}.amazonaws.com"
    headers = {"content-type": "application/json", "host": domain, "x-amzn-vpce-id": vpce_id}
    now = time.time()
    identity: dict[str, Any] = {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": "10.0.1.25",
        "user": None,
        "userAgent": "",
        "userArn": None,
        "vpceId": vpce_id,
    }
    if caller_arn is not None:
        caller_account = caller_arn.split(":")[4]
        principal_id = "AROAEXAMPLEID:" + caller_arn.rsplit("/", 1)[-1]
        identity.update(
            accessKey="ASIAEXAMPLEKEY",
            accountId=caller_account,
            caller=principal_id,
            user=principal_id,
            userArn=caller_arn,
        )
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "extendedRequestId": "EXAMPLE=",
            "httpMethod": method,
            "identity": identity,
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id or str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": "abc123",
            "resourcePath": path,
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": False,
    }
