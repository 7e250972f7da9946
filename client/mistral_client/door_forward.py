"""``mistral-invoke serve --url URL`` (or ``--stack S --door url|private``): a loopback server in front of a
deployed door, signing every request with the caller's credentials for that door's service.

Local callers (an application, the OpenAI SDK without a signer, the chat page) then call
``http://127.0.0.1:8080/<route>`` unsigned; each request goes on to ``<door URL><route>`` (a private API's stage
stays in front of the route), SigV4-signed for ``lambda`` or ``execute-api`` (``signing``). The answer comes back
as it arrives: the door's status and headers (``Retry-After`` included), its body byte for byte, a stream relayed
chunk by chunk, each read written to the local socket at once (no buffering; Nagle off), so server-sent events
arrive one by one. A caller that goes away closes the door's connection. Whether the deployed function then stops reading
the model is the door's and Lambda's to decide, and is not verified here (the local proxy does stop: tests).

Routes ``serve`` answers itself (its OpenAPI document, its page) are answered here by ``local``, never forwarded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import sys
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .errors import CliError
from .signing import DoorSigner
from .transport import DEFAULT_TIMEOUT_SECONDS, Target, join

#: What ``local`` answers for a route served here: (status, headers, body); None forwards the request.
LocalAnswer = tuple[int, dict[str, str], bytes]
Connect = Callable[[urllib.parse.SplitResult, float], http.client.HTTPConnection]

MAX_BODY_BYTES = 6 * 1024 * 1024  # what a function URL accepts (the smaller of the two doors' limits)
# Request headers passed on to the door. Not Authorization (an OpenAI client's "Bearer unused": the signature
# replaces it), not Host or the hop-by-hop ones, not Accept-Encoding (a compressed stream would be held back).
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "user-agent")
# Hop-by-hop headers (RFC 9110, section 7.6.1) and the framing this server sets itself.
NOT_RELAYED = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
    | {"content-length"}
)


def connect(parts: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
    """A new connection to the door (HTTPS, or HTTP for a local stand-in)."""
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return kind(parts.hostname or "", parts.port, timeout=timeout)


def host_header(parts: urllib.parse.SplitResult) -> str:
    """The Host header the signature covers, as botocore's SigV4Auth derives it (``botocore.auth``'s
    ``_host_from_url``): the URL's host in lower case, bracketed if IPv6, with its port unless the default."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def error_body(kind: str, message: str) -> bytes:
    """An error in the proxy's own shape, so callers read a forwarder's failure as they read the proxy's."""
    return json.dumps({"error": {"type": kind, "message": message}}).encode()


class DoorForwarder(ThreadingHTTPServer):
    """One thread per connection (a streamed answer holds its connection for the whole generation)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        target: Target,
        signer: DoorSigner | None,
        *,
        local: Callable[[str, str], LocalAnswer | None] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        connect: Connect = connect,
    ) -> None:
        super().__init__(address, _Handler)
        self.target = target
        self.signer = signer
        self.local = local
        self.door_timeout = timeout
        self.connect = connect

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a caller that went away between requests
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked answers
    server: DoorForwarder

    def setup(self) -> None:
        super().setup()
        # An event is one small write: without this, Nagle's algorithm can hold it for tens of milliseconds.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        body = self._read_body()  # first, even for a local route: an unread body would spoil the next request
        if body is None:
            return
        local = self.server.local(self.command, split.path) if self.server.local else None
        if local is not None:
            self._reply(*local)
            return
        url = join(self.server.target, split.path) + (f"?{split.query}" if split.query else "")
        try:
            headers = self._door_headers(url, body)
        except CliError as exc:  # no or expired credentials, an unknown host: the local caller cannot fix it
            self._reply(500, {"Content-Type": "application/json"}, error_body("signing_failed", str(exc)))
            return
        self._forward(url, body, headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        """The request body; None when it was refused (answered already)."""
        json_type = {"Content-Type": "application/json"}
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            message = (
                "Send the request body with a Content-Length (the forwarder does not read chunked ones)."
            )
            self._reply(411, json_type, error_body("length_required", message))
            return None
        raw = self.headers.get("Content-Length") or "0"
        if not raw.isdigit():
            self.close_connection = True
            self._reply(400, json_type, error_body("invalid_request_error", f"Content-Length {raw[:40]!r}"))
            return None
        if int(raw) > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would be taken for the next request
            message = f"The request body is {raw} bytes; the door accepts at most {MAX_BODY_BYTES}."
            self._reply(413, json_type, error_body("payload_too_large", message))
            return None
        return self.rfile.read(int(raw)) if int(raw) else b""

    def _door_headers(self, url: str, body: bytes) -> dict[str, str]:
        headers = {name: self.headers[name] for name in FORWARDED_REQUEST_HEADERS if self.headers.get(name)}
        headers["Host"] = host_header(urllib.parse.urlsplit(url))  # the host signed, whatever is dialled
        if self.server.signer is not None:
            signed = self.server.signer.headers(self.command, url, body, headers.get("content-type"))
            headers.update(signed)
        return headers

    def _forward(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        parts = urllib.parse.urlsplit(url)
        connection = self.server.connect(parts, self.server.door_timeout)
        json_type = {"Content-Type": "application/json"}
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(self.command, path, body=body or None, headers=headers)
            response = connection.getresponse()
        except TimeoutError as exc:
            connection.close()
            message = f"{parts.netloc} did not answer within {self.server.door_timeout:g} s ({exc})."
            self._reply(504, json_type, error_body("door_timeout", message))
            return
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            message = f"Could not reach the door {parts.netloc}: {exc}"
            self._reply(502, json_type, error_body("door_unreachable", message))
            return
        try:
            self._relay(response)
        finally:
            response.close()  # ends the door's request when the local caller went away mid-stream
            connection.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        """The door's answer as it arrives: status and headers as they are, the body read by read."""
        headers = [(name, value) for name, value in response.getheaders() if name.lower() not in NOT_RELAYED]
        length = response.getheader("Content-Length")
        fixed = length is not None and not response.chunked
        bodiless = self.command == "HEAD" or response.status in (204, 304)
        try:
            self.send_response_only(response.status, response.reason)
            for name, value in headers:
                self.send_header(name, value)
            if fixed or bodiless:
                if length is not None:
                    self.send_header("Content-Length", length)
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if bodiless:
                return
            while chunk := response.read1(65536):  # returns what has arrived, not a full buffer
                self.wfile.write(chunk if fixed else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if not fixed:
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            # The caller went away, or the door broke off mid-answer: either way this connection is done
            # (an unterminated chunked answer tells the caller it was cut short).
            self.close_connection = True

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        with contextlib.suppress(OSError):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the door's proxy logs each request; the forwarder adds nothing worth a line
