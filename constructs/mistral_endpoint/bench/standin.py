"""A loopback stand-in for SageMaker runtime serving TGI 1.1, with a known timing model.

It speaks enough of SageMaker runtime's HTTP API for botocore: ``POST /endpoints/{name}/invocations`` (TGI's JSON
answer) and ``POST /endpoints/{name}/invocations-response-stream`` (``application/vnd.amazon.eventstream``
``PayloadPart`` events carrying TGI's server-sent ``data:`` lines, framed by :mod:`mistral_endpoint.eventstream`).
Errors are what SageMaker sends: TGI's 429 inside a ``ModelError`` (HTTP 424, ``OriginalStatusCode`` 429), the
container timeout as a ``ModelError`` without a model status, or a ``ModelStreamError`` event mid-stream.

The timing model (:class:`TimingModel`) is deliberately simple, so its throughput, latency per token and time to
first token have closed forms (:meth:`TimingModel.expected`) the self-test compares the measurement with:

- prefill (time to first token) = ``prefill_base_s + prefill_per_kword_s * input_words / 1000``;
- each further token takes ``token_base_s + token_per_request_s * (batch - 1)
  + token_per_kword_s * words_in_batch / 1000``, where ``batch`` is the number of requests in flight and
  ``words_in_batch`` their input words together (the KV cache the GPU reads each step), sampled at every step;
- at most ``max_concurrent_requests`` requests in flight; one more is answered TGI's 429 at once;
- a request still running after ``container_timeout_s`` is cut off, as SageMaker cuts a container at 60 s.

Token deadlines are absolute (each one a step after the previous deadline), so a late wake-up on a loaded
machine delays one token, not every token after it. Standard library only (plus this package's framing).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mistral_endpoint import eventstream

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


@dataclass(frozen=True)
class Expected:
    """What the timing model predicts for a closed-loop cell of identical requests."""

    users: int
    input_words: int
    output_tokens: int
    batch: int  # requests in flight: users, up to the concurrency cap
    ttft_ms: float
    request_s: float
    ms_per_token: float
    throughput_tps: float
    requests_per_s: float
    timed_out: bool
    over_cap: bool  # some users get 429: more users than max_concurrent_requests


@dataclass(frozen=True)
class TimingModel:
    """The stand-in's timing; the defaults are the self-test's (tens of milliseconds per token, so that
    scheduling noise on a loaded two-core machine stays well under the self-test's 10 % tolerance)."""

    prefill_base_s: float = 0.15
    prefill_per_kword_s: float = 0.04
    token_base_s: float = 0.025
    token_per_request_s: float = 0.0004
    token_per_kword_s: float = 0.0008
    max_concurrent_requests: int = 64
    container_timeout_s: float = 12.0

    def prefill_s(self, input_words: int) -> float:
        return self.prefill_base_s + self.prefill_per_kword_s * input_words / 1000

    def token_s(self, batch: int, words_in_batch: int) -> float:
        return (
            self.token_base_s
            + self.token_per_request_s * max(batch - 1, 0)
            + self.token_per_kword_s * words_in_batch / 1000
        )

    def expected(self, users: int, input_words: int, output_tokens: int) -> Expected:
        """Closed-form figures: every user sends identical requests back to back, so the batch stays full."""
        batch = min(users, self.max_concurrent_requests)
        ttft = self.prefill_s(input_words)
        request = ttft + (output_tokens - 1) * self.token_s(batch, batch * input_words)
        return Expected(
            users=users,
            input_words=input_words,
            output_tokens=output_tokens,
            batch=batch,
            ttft_ms=ttft * 1000,
            request_s=request,
            ms_per_token=request / output_tokens * 1000,
            throughput_tps=batch * output_tokens / request,
            requests_per_s=batch / request,
            timed_out=request > self.container_timeout_s,
            over_cap=users > self.max_concurrent_requests,
        )


class StandIn:
    """The stand-in server on 127.0.0.1 (a free port). ``short_every=k`` ends every k-th request early with
    TGI's ``eos_token``; ``fail_every=k`` answers every k-th request TGI's 500 inside a ``ModelError``."""

    def __init__(
        self,
        model: TimingModel | None = None,
        *,
        endpoint_name: str = DEFAULT_ENDPOINT_NAME,
        short_every: int = 0,
        fail_every: int = 0,
    ) -> None:
        self.model = model or TimingModel()
        self.endpoint_name = endpoint_name
        self.short_every = short_every
        self.fail_every = fail_every
        self.requests: list[dict[str, Any]] = []  # the decoded request bodies, in arrival order
        self.inference_components: list[str | None] = []  # each request's InferenceComponentName header
        self._lock = threading.Lock()
        self._in_flight: dict[int, int] = {}  # ticket -> input words
        self._tickets = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stand_in = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scheduling ------------------------------------------------------------------------------------

    def admit(self, body: dict[str, Any], words: int) -> tuple[int, int] | None:
        """A ticket and the request's arrival number, or None when the concurrency cap is reached."""
        with self._lock:
            self.requests.append(body)
            if len(self._in_flight) >= self.model.max_concurrent_requests:
                return None
            self._tickets += 1
            self._in_flight[self._tickets] = words
            return self._tickets, len(self.requests)

    def release(self, ticket: int) -> None:
        with self._lock:
            self._in_flight.pop(ticket, None)

    def step_s(self) -> float:
        with self._lock:
            return self.model.token_s(len(self._in_flight), sum(self._in_flight.values()))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: with more users connecting at once, the kernel drops SYNs
    # and the client retries a second later, which would be measured as a slow first request.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client closing its keep-alive connection is not news; anything else shows in the answers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and chunked streaming answers
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds the body back
    # until the client's delayed ACK (40 ms), which would be measured as model time.
    disable_nagle_algorithm = True

    @property
    def stand_in(self) -> StandIn:
        return self.server.stand_in  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
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
        self.stand_in.inference_components.append(self.headers.get("X-Amzn-SageMaker-Inference-Component"))
        admitted = self.stand_in.admit(body, words)
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
            if match["op"] == "invocations":
                self._buffered(ticket, words, tokens, finish, details)
            else:
                self._streamed(ticket, words, tokens, finish, details)
        finally:
            self.stand_in.release(ticket)

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
