"""The proxy as a small HTTP/1.1 server: the app the Lambda Web Adapter forwards function URL requests to (the
streaming function's handler, ``run.sh``, starts it), and what ``mistral-invoke serve`` runs on localhost.

Every route answers through ``Proxy.open``: buffered answers as JSON with a Content-Length; ``"stream": true``
answers as ``text/event-stream`` in chunked transfer encoding, one chunk per event, each written straight to the
socket (no buffer to flush, no compression, Nagle off) so a token leaves as soon as TGI sends it. The Web
Adapter buffers nothing in ``response_stream`` mode, so nothing holds an event back between TGI and the caller.

Run as ``python -m invoke_proxy.http_server``: configuration from the environment, as for the buffered handler;
it listens on 127.0.0.1, port ``AWS_LWA_PORT`` (or ``PORT``, default 8080).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

# The SageMaker client's module (and with it boto3) first, as in handler.py: a shorter cold start, measured.
from .sagemaker import create_client  # isort: split

from .collaborators import LOG
from .config import load_config
from .contract import UNVERIFIED_CALLER
from .core import Proxy
from .encoding import json_text
from .errors import ProxyError
from .identity import caller_name
from .records import Document, Response

# Imported with the app (at init, before the readiness check), so the first streamed answer does not wait.
from .streaming import TokenStream  # noqa: F401

if TYPE_CHECKING:
    from .records import Stream

MAX_BODY_BYTES = 6 * 1024 * 1024  # what a function URL accepts
DEFAULT_PORT = 8080


class ProxyHTTPServer(ThreadingHTTPServer):
    """One thread per connection (a streamed answer holds its connection for the whole generation)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: Proxy, *, trust_request_context: bool) -> None:
        super().__init__(address, _Handler)
        self.proxy = proxy
        self.trust_request_context = trust_request_context

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a caller that went away between requests: nothing to report
        LOG.exception("connection failure")


def make_server(
    proxy: Proxy,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    trust_request_context: bool = False,
) -> ProxyHTTPServer:
    """The HTTP app for ``proxy``, bound (port 0 picks a free one); call ``serve_forever`` to run it.

    ``trust_request_context``: True only behind the Lambda Web Adapter (``main``), whose
    ``x-amzn-request-context`` header carries the door's verified caller.
    """
    return ProxyHTTPServer((host, port), proxy, trust_request_context=trust_request_context)


class Invocation(NamedTuple):
    """What the Web Adapter's headers say about one request."""

    request_id: str
    remaining_ms: Callable[[], int] | None
    caller: str  # ``identity.caller_name``, or ``unverified``


def invocation(headers: Any, *, trust_request_context: bool = True) -> Invocation:
    """The request id, time left and caller, from the headers the Web Adapter adds (a fresh id elsewhere).

    ``trust_request_context``: name the caller from ``x-amzn-request-context``. Behind the Web Adapter that
    header is the door's verified request context; on ``mistral-invoke serve`` any local program could send
    one, so the caller there is ``unverified`` whatever the header says.
    """
    lambda_context = _json_header(headers.get("x-amzn-lambda-context"))
    request_context = _json_header(headers.get("x-amzn-request-context"))
    request_id = str(lambda_context.get("request_id") or request_context.get("requestId") or uuid.uuid4())
    caller = caller_name(request_context) if trust_request_context else UNVERIFIED_CALLER
    deadline = lambda_context.get("deadline") or lambda_context.get("deadline_ms")
    if isinstance(deadline, int) and not isinstance(deadline, bool):
        return Invocation(request_id, lambda: int(deadline - time.time() * 1000), caller)
    return Invocation(request_id, None, caller)


def _json_header(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked answers
    server: ProxyHTTPServer

    def setup(self) -> None:
        super().setup()
        # An event is one small write: without this, Nagle's algorithm can hold it until the previous one
        # is acknowledged (tens of milliseconds with delayed ACKs).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        request_id, remaining_ms, caller = invocation(
            self.headers, trust_request_context=self.server.trust_request_context
        )
        try:
            body = self._read_body()
        except ProxyError as exc:
            self.close_connection = True  # the unread body would be taken for the next request
            self._send_json(Response(exc.status, exc.body(request_id), exc.headers), request_id)
            return
        path = urlsplit(self.path).path
        answer = self.server.proxy.open(self.command, path, body, request_id, remaining_ms, caller=caller)
        if isinstance(answer, Document):
            self._send_document(answer, request_id)
        elif isinstance(answer, Response):
            self._send_json(answer, request_id)
        else:
            self._send_stream(answer, request_id)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        raw = self.headers.get("Content-Length") or "0"
        try:
            length = int(raw)
        except ValueError:
            raise ProxyError(
                400, "invalid_request_error", f"Content-Length {raw[:40]!r} is not a number."
            ) from None
        self._check_size(length)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProxyError(
                    400, "invalid_request_error", "The chunked request body is malformed."
                ) from None
            self._check_size(len(data) + size)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline(3)  # the CRLF after each chunk

    @staticmethod
    def _check_size(length: int) -> None:
        if length > MAX_BODY_BYTES:
            raise ProxyError(
                413,
                "payload_too_large",
                f"The request body is {length} bytes; a function URL accepts at most {MAX_BODY_BYTES}.",
            )

    def _send_document(self, document: Document, request_id: str) -> None:
        self.send_response(document.status)
        for name, value in document.headers.items():
            self.send_header(name, value)
        self.send_header("x-request-id", request_id)
        self.send_header("Content-Length", str(len(document.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(document.body)

    def _send_json(self, response: Response, request_id: str) -> None:
        data = json_text(response.body).encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-request-id", request_id)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_stream(self, stream: Stream, request_id: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Accel-Buffering", "no")  # intermediaries that buffer by default: do not
            self.send_header("x-request-id", request_id)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in stream:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))  # one write, one TCP segment
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the caller went away (broken pipe, reset): stop reading from SageMaker
            self.close_connection = True
            stream.close(disconnected=True)
        else:
            stream.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the proxy logs each request itself, as one JSON line


def configure_logging() -> None:
    """JSON lines on stdout, as Lambda's runtime would format them (it does not format this process)."""
    from .json_logs import JsonLogFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    LOG.addHandler(handler)
    LOG.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").upper())
    LOG.propagate = False


def main() -> None:
    configure_logging()
    config = load_config(os.environ)
    port = int(os.environ.get("AWS_LWA_PORT") or os.environ.get("PORT") or DEFAULT_PORT)
    # Behind the Web Adapter (run.sh): its x-amzn-request-context header is the door's verified context.
    server = make_server(Proxy(config, create_client(config)), "127.0.0.1", port, trust_request_context=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
