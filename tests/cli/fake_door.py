"""A loopback imitation of a deployed door for ``serve``'s forwarder: it checks the SigV4 signature (the service
and region of its credential scope, recomputed with botocore) and answers each request with the next queued
``Play``: a buffered answer, or server-sent events in small pieces, each one held back until the test releases it.
"""

from __future__ import annotations

import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cli_helpers import AUTHORIZATION, Recorded, signature_is_valid


@dataclass
class Play:
    """One answer: ``status``, ``headers``, ``body`` (sent with a Content-Length), or ``events`` (sent
    chunked, each event in two pieces, the next one only after ``release``)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: list[bytes] | None = None


class FakeDoor(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, url: str, service: str, region: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = url  # the door's URL as signed (the host and scheme the caller signed for)
        self.service, self.region = service, region
        self.plays: list[Play] = []
        self.requests: list[Recorded] = []
        self.release: queue.Queue[None] = queue.Queue()
        self.caller_left = threading.Event()  # a write to the forwarder failed: the caller went away

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> FakeDoor:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def signed_correctly(self, request: Recorded) -> bool:
        match = AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
        if not match or (match["service"], match["region"]) != (self.service, self.region):
            return False
        parts = urllib.parse.urlsplit(self.url)  # the rebuilt URL is the root plus the path that arrived
        root = f"{parts.scheme}://{parts.netloc}"
        return signature_is_valid(request, root, self.region, service=self.service)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeDoor

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Recorded(self.command, self.path, dict(self.headers.items()), body)
        self.server.requests.append(request)
        if not self.server.signed_correctly(request):
            self._send(Play(403, {"Content-Type": "application/json"}, b'{"message":"Forbidden"}'))
            return
        self._send(self.server.plays.pop(0))

    do_GET = do_POST = _serve

    def _send(self, play: Play) -> None:
        self.send_response(play.status)
        for name, value in play.headers.items():
            self.send_header(name, value)
        if play.events is None:
            self.send_header("Content-Length", str(len(play.body)))
            self.end_headers()
            self.wfile.write(play.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._stream(play.events)

    def _stream(self, events: list[bytes]) -> None:
        def chunk(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        try:
            for number, event in enumerate(events):
                if number:
                    self.server.release.get(timeout=10)  # the test saw the previous event arrive
                half = len(event) // 2
                chunk(event[:half])  # an event split across two chunks, as a stream may deliver it
                time.sleep(0.01)
                chunk(event[half:])
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.server.caller_left.set()
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass
