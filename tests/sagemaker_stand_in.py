"""A loopback stand-in for SageMaker runtime's InvokeEndpointWithResponseStream, for the streaming tests.

It answers with real AWS event-stream framing (``mistral_endpoint.eventstream``: prelude, headers, payload,
CRCs, the bytes botocore's parser reads from AWS) in HTTP/1.1 chunked encoding, one message per chunk, as AWS
sends it. Each answer is a script: bytes are written (and leave at once), a ``threading.Event`` is waited on
(so a test decides when the model "generates" the next token), a float is a pause. Boto3 reaches it through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` with dummy credentials: serialization, signing, parsing all run.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mistral_endpoint import eventstream
from mistral_endpoint._lambda.invoke_proxy.config import Config
from mistral_endpoint._lambda.invoke_proxy.core import Proxy
from mistral_endpoint._lambda.invoke_proxy.http_server import ProxyHTTPServer, make_server
from mistral_endpoint._lambda.invoke_proxy.sagemaker import create_client

Step = bytes | threading.Event | float


def tgi_token(
    text: str,
    index: int = 1,
    *,
    final: str | None = None,
    finish_reason: str = "eos_token",
    special: bool = False,
    generated_tokens: int | None = None,
) -> dict[str, Any]:
    """One TGI 1.1 stream event; the last one (``final``: the generated text) carries details."""
    event: dict[str, Any] = {
        "token": {"id": 1000 + index, "text": text, "logprob": -0.25, "special": special},
        "generated_text": final,
        "details": None,
    }
    if final is not None:
        event["details"] = {
            "finish_reason": finish_reason,
            "generated_tokens": generated_tokens or index,
            "seed": None,
        }
    return event


def sse_bytes(event: object) -> bytes:
    """TGI's framing of one event: ``data:`` then the JSON, then a blank line."""
    return b"data:" + json.dumps(event).encode() + b"\n\n"


def tokens_script(texts: Sequence[str], finish_reason: str = "eos_token") -> list[Step]:
    """One PayloadPart per token; the last token's event ends the generation."""
    full = "".join(texts)
    return [
        eventstream.payload_part(
            sse_bytes(
                tgi_token(
                    text,
                    index,
                    final=full if index == len(texts) else None,
                    finish_reason=finish_reason,
                )
            )
        )
        for index, text in enumerate(texts, start=1)
    ]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    steps: list[Step] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error_body: bytes = b""


class SageMakerRuntime(ThreadingHTTPServer):
    """Answers each InvokeEndpointWithResponseStream with the next queued ``Answer``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[Answer] = []
        self.requests: list[Recorded] = []
        #: Set when the caller (the proxy) closed its connection while this stand-in was still writing.
        self.stream_closed = threading.Event()
        #: Set when a scripted answer was written to its end.
        self.finished = threading.Event()
        #: perf_counter() when each step that is bytes left (for the benchmark).
        self.sent_at: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def stream(self, *steps: Step) -> None:
        self.answers.append(Answer(list(steps)))

    def error(self, status: int, error_type: str, body: dict[str, Any]) -> None:
        self.answers.append(
            Answer(
                status=status, headers={"x-amzn-ErrorType": error_type}, error_body=json.dumps(body).encode()
            )
        )

    def reset(self) -> None:
        self.answers.clear()
        self.requests.clear()
        self.sent_at.clear()
        self.stream_closed.clear()
        self.finished.clear()

    def start(self) -> SageMakerRuntime:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SageMakerRuntime

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append(Recorded(self.path, dict(self.headers.items()), body))
        answer = self.server.answers.pop(0)
        if answer.status != 200:
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.error_body)))
            self.end_headers()
            self.wfile.write(answer.error_body)
            return
        self.send_response(200)
        self.send_header("Content-Type", eventstream.CONTENT_TYPE)
        self.send_header("X-Amzn-SageMaker-Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for step in answer.steps:
                if isinstance(step, threading.Event):
                    step.wait(30)
                elif isinstance(step, float):
                    time.sleep(step)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(step), step))
                    self.server.sent_at.append(time.perf_counter())
            self.wfile.write(b"0\r\n\r\n")
            self.server.finished.set()
        except OSError:
            self.server.stream_closed.set()
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def endless_tokens(pause: float = 0.02, limit: int = 1500) -> Iterator[Step]:
    """A model that would go on for a long while: one token every ``pause`` seconds."""
    for index in range(1, limit + 1):
        yield eventstream.payload_part(sse_bytes(tgi_token(" word", index)))
        yield pause


@contextlib.contextmanager
def proxy_app(config: Config) -> Iterator[str]:
    """The proxy's HTTP app (as behind the Lambda Web Adapter) on loopback, its SageMaker runtime whatever
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` names (the stand-in); yields its base URL."""
    server: ProxyHTTPServer = make_server(Proxy(config, create_client(config)), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
