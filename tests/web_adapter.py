"""A loopback imitation of the Lambda Web Adapter in ``response_stream`` mode, and of the door that reads it.

What the streaming function does with one event, as the tests need it: the Web Adapter turns the event into an
HTTP request to the proxy's app and writes the app's answer back as Lambda's streaming response, which both doors
read the same way: a JSON metadata object (``statusCode``, ``headers``, ``cookies``), a delimiter of eight NUL
bytes, then the payload as it arrives (API Gateway Developer Guide, "Set up a Lambda proxy integration with
payload response streaming", the Lambda proxy integration format for response streaming; for function URLs the
same prelude is what ``awslambda.HttpResponseStream.from`` writes).

The framing (metadata, delimiter) is written here, as the adapter writes it: what these tests hold is what the
app controls inside it (status, headers, payload) and the request the adapter makes of each event.

The event-to-request rules are the adapter's (aws-lambda-web-adapter README, "Request context" and "Response
streaming"; its request conversion is the Rust ``lambda_http`` crate's):
- the path: a function URL's ``rawPath``; a REST API's ``path``, the resource path, prefixed with the stage
  unless the function's environment sets ``AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true`` (lambda_http README,
  "Integration with API Gateway stages"); the environment is the contract's ``WEB_ADAPTER_ENVIRONMENT``, which
  ``InvokeProxy`` sets on the function;
- the headers as sent, plus ``x-amzn-request-context`` (the event's ``requestContext`` as JSON) and
  ``x-amzn-lambda-context`` (the invocation's context as JSON).
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from invoke_proxy import contract

#: Between the metadata and the payload of a streamed Lambda response.
DELIMITER = b"\x00" * 8


def invoke_streaming(
    app_port: int,
    event: dict[str, Any],
    request_id: str = "lambda-request-id",
    environment: Mapping[str, str] = contract.WEB_ADAPTER_ENVIRONMENT,
) -> Iterator[bytes]:
    """The bytes the streaming function returns for ``event`` (metadata, delimiter, payload chunks), with the
    adapter configured by ``environment`` (the function's)."""
    connection = http.client.HTTPConnection("127.0.0.1", app_port, timeout=30)
    ignore_stage = environment.get("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "").lower() == "true"
    method, path = _method_and_path(event, ignore_stage)
    body = _body(event)
    headers = {name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "host"}
    headers["x-amzn-request-context"] = json.dumps(event.get("requestContext") or {})
    headers["x-amzn-lambda-context"] = json.dumps({"request_id": request_id, "deadline": 2**53})
    if body:
        headers["content-length"] = str(len(body))
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        metadata = {
            "statusCode": response.status,
            "headers": {
                name.lower(): value
                for name, value in response.getheaders()
                if name.lower() not in ("transfer-encoding", "connection", "content-length")
            },
            "cookies": [],
        }
        yield json.dumps(metadata).encode() + DELIMITER
        while chunk := response.read1(65536):
            yield chunk
    finally:
        connection.close()


def read_streamed_response(chunks: Iterator[bytes]) -> tuple[dict[str, Any], Iterator[bytes]]:
    """What a door does with a streamed response: the metadata once the delimiter has arrived, then the payload
    as it comes. Raises ValueError when the metadata is not JSON or the delimiter never comes."""
    buffered = b""
    for chunk in chunks:
        buffered += chunk
        if DELIMITER in buffered:
            head, _, rest = buffered.partition(DELIMITER)
            metadata = json.loads(head)
            if not isinstance(metadata, dict) or not isinstance(metadata.get("statusCode"), int):
                raise ValueError(f"the metadata is not a response prelude: {head[:200]!r}")
            return metadata, _payload(rest, chunks)
    raise ValueError(f"the response ended before its delimiter: {buffered[:200]!r}")


def _payload(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _method_and_path(event: dict[str, Any], ignore_stage: bool) -> tuple[str, str]:
    if "httpMethod" in event:  # payload format 1.0: a REST API
        path = event.get("path") or "/"
        stage = event.get("requestContext", {}).get("stage")
        if ignore_stage or not stage or stage == "$default":
            return event["httpMethod"], path
        return event["httpMethod"], f"/{stage}{path}"
    http_context = event.get("requestContext", {}).get("http", {})
    query = event.get("rawQueryString") or ""
    return http_context.get("method", "GET"), event.get("rawPath", "/") + (f"?{query}" if query else "")


def _body(event: dict[str, Any]) -> bytes:
    raw = event.get("body")
    if raw is None:
        return b""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()


class Door(ThreadingHTTPServer):
    """A loopback imitation of a door in front of the streaming function: each HTTP request becomes the door's
    event (``private``: a REST API proxy event, the stage taken off the path; ``url``: a function URL event),
    signed by ``caller_arn``, goes through the Web Adapter imitation to the app on ``app_port``, and the
    streamed response's metadata becomes the status and headers, its payload the body, chunk by chunk."""

    daemon_threads = True

    def __init__(self, app_port: int, kind: str, caller_arn: str, stage: str = "prod") -> None:
        super().__init__(("127.0.0.1", 0), _DoorHandler)
        self.app_port, self.kind, self.caller_arn, self.stage = app_port, kind, caller_arn, stage

    @property
    def url(self) -> str:
        base = f"http://127.0.0.1:{self.server_address[1]}"
        return f"{base}/{self.stage}" if self.kind == "private" else base

    def event(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        from mistral_client.function_url import rest_api_event, url_event

        text = body.decode() if body else None
        if self.kind == "private":
            prefix = f"/{self.stage}"
            resource_path = path[len(prefix) :] if path.startswith(prefix + "/") else path
            return rest_api_event(method, resource_path, text, stage=self.stage, caller_arn=self.caller_arn)
        return url_event(method, path, body=text, account_id="123456789012", caller_arn=self.caller_arn)


class _DoorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Door

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        event = self.server.event(self.command, self.path, body)
        metadata, payload = read_streamed_response(invoke_streaming(self.server.app_port, event))
        self.send_response(metadata["statusCode"])
        for name, value in metadata["headers"].items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in payload:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
