"""The stand-in's HTTP server: scripted answers first, else the timing model (see the package's docstring)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .. import eventstream
from .scripts import Answer, Recorded, Step
from .timing import TimingModel

DEFAULT_ENDPOINT_NAME = "mistral-standin"
LOG_STREAM_ARN = (
    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/mistral-standin:"
    "log-stream:AllTraffic/i-0123456789abcdef0"
)
OVERLOADED = json.dumps({"error": "Model is overloaded", "error_type": "overloaded"})
CONTAINER_TIMEOUT_MESSAGE = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency "
    "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)
_PATH = re.compile(r"^/endpoints/(?P<name>[^/]+)/(?P<op>invocations|invocations-response-stream)$")


class StandIn(ThreadingHTTPServer):
    """The stand-in on 127.0.0.1 (a free port). Scripted answers (``stream``, ``error``) are played in order;
    without one, the timing model answers: ``short_every=k`` ends every k-th request early with TGI's
    ``eos_token``; ``fail_every=k`` answers every k-th request TGI's 500 inside a ``ModelError``."""

    daemon_threads = True
    # socketserver's default listen backlog is 5: with more users connecting at once, the kernel drops SYNs
    # and the client retries a second later, which would be measured as a slow first request.
    request_queue_size = 1024

    def __init__(
        self,
        model: TimingModel | None = None,
        *,
        endpoint_name: str = DEFAULT_ENDPOINT_NAME,
        short_every: int = 0,
        fail_every: int = 0,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.model = model or TimingModel()
        self.endpoint_name = endpoint_name
        self.short_every = short_every
        self.fail_every = fail_every
        self.answers: list[Answer] = []  # scripted answers, played first
        self.requests: list[Recorded] = []  # every request, in arrival order
        #: Set when the caller (the proxy) closed its connection while a script was still writing.
        self.stream_closed = threading.Event()
        #: Set when a script was written to its end.
        self.finished = threading.Event()
        #: perf_counter() when each step of a script that is bytes left.
        self.sent_at: list[float] = []
        self._lock = threading.Lock()
        self._in_flight: dict[int, int] = {}  # ticket -> input words
        self._tickets = 0
        self._arrivals = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def bodies(self) -> list[Any]:
        """Each request's JSON body, in arrival order."""
        return [recorded.json() for recorded in self.requests]

    @property
    def inference_components(self) -> list[str | None]:
        """Each request's InferenceComponentName header (None without one)."""
        return [r.headers.get("X-Amzn-SageMaker-Inference-Component") for r in self.requests]

    def start(self) -> StandIn:
        threading.Thread(target=self.serve_forever, name="standin", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client closing its connection is not news
            super().handle_error(request, client_address)

    # --- scripts ---------------------------------------------------------------------------------------------

    def stream(self, *steps: Step) -> None:
        """Queue a 200 stream of these steps."""
        self.answers.append(Answer(list(steps)))

    def error(self, status: int, error_type: str, body: dict[str, Any]) -> None:
        """Queue an error answer (``x-amzn-ErrorType`` is how botocore names the exception)."""
        self.reply(status, json.dumps(body).encode(), {"x-amzn-ErrorType": error_type})

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Queue a buffered answer as it is: InvokeEndpoint's JSON (200), or an error with its headers."""
        self.answers.append(Answer(status=status, headers=dict(headers or {}), body=body))

    def reset(self) -> None:
        self.answers.clear()
        self.requests.clear()
        self.sent_at.clear()
        self.stream_closed.clear()
        self.finished.clear()

    def next_script(self) -> Answer | None:
        with self._lock:
            return self.answers.pop(0) if self.answers else None

    # --- the timing model's scheduling -------------------------------------------------------------------------

    def admit(self, words: int) -> tuple[int, int] | None:
        """A ticket and the request's arrival number, or None when the concurrency cap is reached."""
        with self._lock:
            self._arrivals += 1
            if len(self._in_flight) >= self.model.max_concurrent_requests:
                return None
            self._tickets += 1
            self._in_flight[self._tickets] = words
            return self._tickets, self._arrivals

    def release(self, ticket: int) -> None:
        with self._lock:
            self._in_flight.pop(ticket, None)

    def step_s(self) -> float:
        with self._lock:
            return self.model.token_s(len(self._in_flight), sum(self._in_flight.values()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming answers
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds the body back
    # until the client's delayed ACK (40 ms), which would be measured as model time.
    disable_nagle_algorithm = True
    server: StandIn

    @property
    def stand_in(self) -> StandIn:
        return self.server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.stand_in._lock:
            self.stand_in.requests.append(Recorded(self.path, dict(self.headers.items()), raw))
        script = self.stand_in.next_script()
        if script is not None:
            self._play(script)
            return
        match = _PATH.match(self.path.split("?")[0])
        if not match:
            self._error(404, "UnknownOperationException", {"message": f"No such operation: {self.path}"})
            return
        if match["name"] != self.stand_in.endpoint_name:
            message = f"Endpoint {match['name']} of account 123456789012 not found."
            self._error(400, "ValidationError", {"Message": message})
            return
        try:
            body = json.loads(raw)
            words = len(str(body["inputs"]).split())
            max_new_tokens = int((body.get("parameters") or {}).get("max_new_tokens", 20))
        except (ValueError, KeyError, TypeError, AttributeError):
            self._model_error(
                422, json.dumps({"error": "Input validation error", "error_type": "validation"})
            )
            return
        self._generate(match["op"] == "invocations", body, words, max_new_tokens)

    def _generate(self, buffered: bool, body: dict[str, Any], words: int, max_new_tokens: int) -> None:
        admitted = self.stand_in.admit(words)
        if admitted is None:
            self._model_error(429, OVERLOADED)
            return
        ticket, number = admitted
        try:
            if self.stand_in.fail_every and number % self.stand_in.fail_every == 0:
                self._model_error(500, json.dumps({"error": "CUDA error", "error_type": "generation"}))
                return
            tokens = max_new_tokens
            if self.stand_in.short_every and number % self.stand_in.short_every == 0:
                tokens = max(1, max_new_tokens // 2)
            finish = "length" if tokens == max_new_tokens else "eos_token"
            details = bool((body.get("parameters") or {}).get("details"))
            if buffered:
                self._buffered(ticket, words, tokens, finish, details)
            else:
                self._streamed(ticket, words, tokens, finish, details)
        finally:
            self.stand_in.release(ticket)

    def _play(self, answer: Answer) -> None:
        """A scripted answer: a buffered one as it is, or a stream whose steps are played in order."""
        if answer.body is not None:
            self._reply(answer.status, {"Content-Type": "application/json", **answer.headers}, answer.body)
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
                    self.stand_in.sent_at.append(time.perf_counter())
            self.wfile.write(b"0\r\n\r\n")
            self.stand_in.finished.set()
        except OSError:
            self.stand_in.stream_closed.set()
            self.close_connection = True

    # --- generation --------------------------------------------------------------------------------------

    def _tokens(self, words: int, count: int) -> Any:
        """Yields each token's index at its time; stops early (yielding None) at the container timeout."""
        model = self.stand_in.model
        start = time.perf_counter()
        cutoff = start + model.container_timeout_s
        deadline = start + model.prefill_s(words)
        for index in range(count):
            if index:
                deadline += self.stand_in.step_s()
            if deadline > cutoff:
                _sleep_until(cutoff)
                yield None
                return
            _sleep_until(deadline)
            yield index

    # Each answer releases its slot before its last bytes leave: a client that sends its next request the moment
    # it has the answer must find the slot free, as TGI frees it when the generation ends.

    def _buffered(self, ticket: int, words: int, count: int, finish: str, details: bool) -> None:
        generated = 0
        for index in self._tokens(words, count):
            if index is None:
                self.stand_in.release(ticket)
                self._container_timeout()
                return
            generated += 1
        answer: dict[str, Any] = {"generated_text": "".join(_text(i) for i in range(generated))}
        if details:
            answer["details"] = {
                "finish_reason": finish,
                "generated_tokens": generated,
                "seed": None,
                "prefill": [],
                "tokens": [_token(i) for i in range(generated)],
            }
        self.stand_in.release(ticket)
        self._reply(200, {"Content-Type": "application/json"}, json.dumps([answer]).encode())

    def _streamed(self, ticket: int, words: int, count: int, finish: str, details: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", eventstream.CONTENT_TYPE)
        self.send_header("X-Amzn-SageMaker-Content-Type", "text/event-stream")
        self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        text = ""
        for index in self._tokens(words, count):
            if index is None:
                self.stand_in.release(ticket)
                self._chunk(
                    eventstream.model_stream_error(CONTAINER_TIMEOUT_MESSAGE, "ModelInvocationTimeExceeded")
                )
                break
            text += _text(index)
            event: dict[str, Any] = {"token": _token(index), "generated_text": None, "details": None}
            if index == count - 1:
                event["generated_text"] = text
                if details:
                    event["details"] = {"finish_reason": finish, "generated_tokens": count, "seed": None}
                self.stand_in.release(ticket)
            line = f"data:{json.dumps(event)}\n\n".encode()
            if index % 3 == 1:  # SageMaker may split a line across payload parts: clients must buffer
                half = len(line) // 2
                self._chunk(eventstream.payload_part(line[:half]) + eventstream.payload_part(line[half:]))
            else:
                self._chunk(eventstream.payload_part(line))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # --- wire helpers ------------------------------------------------------------------------------------

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, body: dict[str, Any]) -> None:
        self._reply(
            status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(body).encode()
        )

    def _model_error(self, original_status: int, original_message: str) -> None:
        """TGI's error as SageMaker wraps it: ``ModelError`` (HTTP 424) carrying the container's status."""
        side = "client" if original_status < 500 else "server"
        self._error(
            424,
            "ModelError",
            {
                "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
                "LogStreamArn": LOG_STREAM_ARN,
                "Message": f"Received {side} error ({original_status}) from primary with message "
                f'"{original_message}". See {LOG_STREAM_ARN} for more information.',
                "OriginalMessage": original_message,
                "OriginalStatusCode": original_status,
            },
        )

    def _container_timeout(self) -> None:
        self._error(
            424,
            "ModelError",
            {
                "ErrorCode": "SERVER_ERROR_FROM_MODEL",
                "LogStreamArn": LOG_STREAM_ARN,
                "Message": f'Received server error (0) from primary with message "{CONTAINER_TIMEOUT_MESSAGE}".',
                "OriginalMessage": CONTAINER_TIMEOUT_MESSAGE,
                "OriginalStatusCode": 0,
            },
        )

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _sleep_until(deadline: float) -> None:
    remaining = deadline - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def _text(index: int) -> str:
    return f" w{index}"


def _token(index: int) -> dict[str, Any]:
    return {"id": 1000 + index, "text": _text(index), "logprob": -0.5, "special": False}


@contextlib.contextmanager
def proxy_app(config: Any) -> Iterator[str]:
    """The proxy's HTTP app (as behind the Lambda Web Adapter) on loopback, its SageMaker runtime whatever
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` names (the stand-in); yields its base URL. ``config`` is the
    runtime's ``invoke_proxy.config.Config``. As behind the adapter, it names the caller from an
    ``x-amzn-request-context`` header (the tests' imitation of the adapter sends one)."""
    from invoke_proxy.core import Proxy
    from invoke_proxy.http_server import make_server
    from invoke_proxy.sagemaker import create_client

    server = make_server(Proxy(config, create_client(config)), "127.0.0.1", 0, trust_request_context=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
