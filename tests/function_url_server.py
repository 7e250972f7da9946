"""A loopback HTTP server that turns each request into a function URL event for a handler: the buffered Lambda
handler behind a real HTTP socket, for the tests, the bench tests and the deploy rehearsal's wake.

(``mistral-invoke serve`` runs the streaming function's own HTTP app instead, lambda/invoke_proxy/http_server.py.)
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mistral_client.function_url import url_event


def make_local_server(host: str, port: int, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Any:
    """A loopback HTTP server that turns each request into a function URL event for ``handler``."""
    max_bytes = 6 * 1024 * 1024  # what a function URL accepts

    class LocalContext:
        def __init__(self, request_id: str) -> None:
            self.aws_request_id = request_id

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > max_bytes:
                self._reply(413, {}, b'{"message":"Request must be smaller than 6291456 bytes"}')
                return
            body = self.rfile.read(length) if length else b""
            parts = urllib.parse.urlsplit(self.path)
            event = url_event(self.command, parts.path, parts.query, dict(self.headers.items()), body)
            result = handler(event, LocalContext(event["requestContext"]["requestId"]))
            payload = result.get("body") or ""
            data = payload.encode() if isinstance(payload, str) else bytes(payload)
            self._reply(int(result.get("statusCode", 200)), result.get("headers") or {}, data)

        def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the proxy logs each request itself

    return ThreadingHTTPServer((host, port), Handler)
