"""Streamed answers: InvokeEndpointWithResponseStream's PayloadParts in, complete server-sent events out.

TGI streams server-sent events (one ``data:`` JSON per token, the last one also carrying ``generated_text`` and
``details``); SageMaker cuts those bytes into PayloadParts wherever it likes, so one part can hold half an event
or several. ``SseParser`` (``sse.py``) reassembles them; ``TokenStream`` shapes each TGI event for the route and yields only
whole events. A failure after the first event (ModelStreamError, InternalStreamFailure, TGI's own error event, a
read timeout, a stream cut short) ends the stream with one last event holding the buffered routes' error body,
``{"error": {"type", "message"}, "request_id"}``. A failure before the first event is a plain JSON error.

What each route sends:
- ``/generate``: TGI's own events, as TGI sends them (``details`` only if the request asked for them).
- ``/chat``: TGI's token events too; the last one's ``generated_text`` is the chat answer (without a matched
  stop sequence, as in the buffered answer) and it adds the buffered answer's ``finish_reason``.
- ``/v1/chat/completions``: OpenAI ``chat.completion.chunk`` events (a role chunk, content deltas, a chunk with
  ``finish_reason``, a usage chunk with ``stream_options.include_usage``), then ``data: [DONE]``. Text that
  could be the start of a stop sequence is held back until it cannot, so the deltas never hold a stop sequence.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from botocore.exceptions import ClientError

from .config import Config
from .core import CHAT, FINISH_REASONS_OPENAI, OPENAI_CHAT, ROUTES, ModelCall, Proxy, openai_usage, strip_stop
from .errors import ProxyError, model_overloaded, model_rejected_input
from .function_url import json_text
from .metrics import write_request_metrics
from .sagemaker import READ_TIMEOUT_SECONDS, invoke_stream, map_error
from .sse import SseParser

JsonObject = dict[str, Any]
DONE = b"data: [DONE]\n\n"


def sse(body: object) -> bytes:
    """One server-sent event: JSON on one ``data:`` line (JSON escapes every newline)."""
    return b"data: " + json_text(body).encode("utf-8") + b"\n\n"


# --- mid-stream failures -----------------------------------------------------------------------------------


def stream_failure(exc: Exception, endpoint_name: str) -> ProxyError:
    """What the caller's final error event says about a failure while reading SageMaker's event stream."""
    log: dict[str, Any] = {"upstream_exception": type(exc).__name__, "mid_stream": True}
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        log.update(upstream_code=code, upstream_message=error.get("Message", ""))
        if code == "ModelStreamError":
            # botocore keeps only Code and Message of an exception event (the ErrorCode member is dropped):
            # ModelInvocationTimeExceeded is told apart from StreamBroken by its message.
            text = f"{error.get('Message', '')} {exc.response.get('ErrorCode', '')}".lower()
            if "time" in text and "broken" not in text:
                return ProxyError(
                    504,
                    "timeout",
                    "The model did not finish its answer within SageMaker's time limit for a stream: ask for "
                    "fewer max_new_tokens.",
                    log_fields=log,
                )
            return ProxyError(
                502,
                "model_error",
                "The model failed in the middle of its answer; the proxy's log line for this request id has "
                "SageMaker's message.",
                log_fields=log,
            )
        if code == "InternalStreamFailure":
            return ProxyError(
                502,
                "upstream_error",
                "SageMaker's stream of the answer broke in the middle; retry the request.",
                log_fields=log,
            )
        return map_error(exc, endpoint_name)
    if _is_timeout(exc):
        return ProxyError(
            504,
            "timeout",
            f"The model endpoint sent nothing for {READ_TIMEOUT_SECONDS} s in the middle of its answer.",
            log_fields=log,
        )
    log["upstream_message"] = str(exc)[:1000]
    return ProxyError(
        502,
        "upstream_error",
        "The stream from the model endpoint broke off.",
        log_fields=log,
    )


def _is_timeout(exc: BaseException) -> bool:
    # urllib3's ReadTimeoutError reaches us raw from botocore's event stream; the asset imports only the
    # standard library, boto3 and botocore, so recognize it by name.
    return isinstance(exc, TimeoutError) or any("Timeout" in cls.__name__ for cls in type(exc).__mro__)


def tgi_error(event: JsonObject) -> ProxyError:
    """TGI's own error event, ``{"error": str, "error_type": str}``, as the buffered routes would map it."""
    message, error_type = str(event.get("error", "")), str(event.get("error_type", ""))
    log = {"upstream_message": message[:1000], "tgi_error_type": error_type}
    if error_type == "validation":
        return model_rejected_input(message, log)
    if error_type == "overloaded":
        return model_overloaded(log)
    return ProxyError(
        502,
        "model_error",
        f"The model failed to answer ({error_type or 'error'}); the proxy's log line for this request id has "
        "its message.",
        log_fields=log,
    )


# --- shaping TGI's events for each route -------------------------------------------------------------------


class _TgiEvents:
    """``/generate``: TGI's events as TGI sends them."""

    def __init__(self, call: ModelCall, config: Config, request_id: str) -> None:
        self.call = call

    def start(self) -> list[bytes]:
        return []

    def token(self, event: JsonObject) -> list[bytes]:
        if event.get("generated_text") is not None and not self.call.caller_wants_details:
            event = {**event, "details": None}  # what TGI sends when details were not asked for
        return [sse(event)]

    def end(self) -> list[bytes]:
        return []


class _ChatEvents(_TgiEvents):
    """``/chat``: TGI's token events; the last one carries the chat answer and its finish reason."""

    def token(self, event: JsonObject) -> list[bytes]:
        text = event.get("generated_text")
        if isinstance(text, str):
            details = event.get("details") if isinstance(event.get("details"), dict) else {}
            assert isinstance(details, dict)
            event = {
                **event,
                "generated_text": strip_stop(text, details, self.call.stop),
                "finish_reason": details.get("finish_reason"),
            }
        return super().token(event)


class _OpenAIChunks:
    """``/v1/chat/completions``: ``chat.completion.chunk`` events, then ``[DONE]``."""

    def __init__(self, call: ModelCall, config: Config, request_id: str) -> None:
        self.call = call
        self.base: JsonObject = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": config.model_id,
        }
        # A stop sequence ends the text when it matches: hold back as much text as the longest one.
        self.hold = max((len(stop) for stop in call.stop), default=0)
        self.text = ""
        self.sent = 0
        self.details: JsonObject = {}

    def _chunk(self, delta: JsonObject, finish_reason: str | None = None) -> bytes:
        chunk = {
            **self.base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        if self.call.include_usage:
            chunk["usage"] = None
        return sse(chunk)

    def start(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def token(self, event: JsonObject) -> list[bytes]:
        token = event.get("token") if isinstance(event.get("token"), dict) else {}
        assert isinstance(token, dict)
        if not token.get("special") and isinstance(token.get("text"), str):
            self.text += token["text"]
        final = event.get("generated_text")
        if isinstance(final, str):
            details = event.get("details") if isinstance(event.get("details"), dict) else {}
            assert isinstance(details, dict)
            self.details = details
            content = strip_stop(final, details, self.call.stop)
            already = self.text[: self.sent]
            rest = content[len(already) :] if content.startswith(already) else ""
            finish = FINISH_REASONS_OPENAI.get(str(details.get("finish_reason")), "stop")
            chunks = [self._chunk({"content": rest})] if rest else []
            return [*chunks, self._chunk({}, finish)]
        safe = len(self.text) - self.hold
        if safe <= self.sent:
            return []
        delta, self.sent = self.text[self.sent : safe], safe
        return [self._chunk({"content": delta})]

    def end(self) -> list[bytes]:
        chunks = []
        if self.call.include_usage:
            chunks.append(sse({**self.base, "choices": [], "usage": openai_usage(self.details)}))
        return [*chunks, DONE]


_SHAPES: dict[str, Callable[[ModelCall, Config, str], Any]] = {CHAT: _ChatEvents, OPENAI_CHAT: _OpenAIChunks}


# --- the stream ---------------------------------------------------------------------------------------------


class TokenStream:
    """The events of one streamed answer, each a complete server-sent event (bytes).

    Iterate it once, then ``close()`` it; ``close(disconnected=True)`` when the caller went away: it stops
    reading from SageMaker (closing botocore's stream closes the connection) and writes the log line.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        call: ModelCall,
        config: Config,
        body: Any,
        request_id: str,
        *,
        log: logging.Logger,
        fields: dict[str, Any],
        started: float,
        model_started: float,
    ) -> None:
        self.call = call
        self.config = config
        self.request_id = request_id
        self._body = body
        self._log = log
        self._fields = fields
        self._started = started
        self._model_started = model_started
        self._parser = SseParser()
        self._tgi = self._tgi_events()
        self._shape = _SHAPES.get(call.route, _TgiEvents)(call, config, request_id)
        self._first: JsonObject | None = None
        self._events = self._generate()
        self._tokens = 0
        self._first_at: float | None = None
        self._last_at: float | None = None
        self._final: JsonObject | None = None
        self._error: ProxyError | None = None
        self._disconnected = False
        self._logged = False

    def wait_for_first_event(self) -> None:
        """Read until TGI's first event; raises ProxyError (and closes) if the model fails before it."""
        try:
            self._first = next(self._tgi, None)
            if self._first is None:
                raise ProxyError(
                    502, "upstream_error", "The model endpoint ended its stream without an answer."
                )
        except BaseException:
            self._body.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        return self._events

    def close(self, *, disconnected: bool = False) -> None:
        self._disconnected = self._disconnected or disconnected
        self._events.close()
        self._body.close()
        self._write_log()

    def _tgi_events(self) -> Generator[JsonObject, None, None]:
        """TGI's events, parsed; raises ProxyError for any failure, TGI's error event included."""
        try:
            for message in self._body:
                part = message.get("PayloadPart")
                if part:
                    for data in self._parser.feed(part.get("Bytes", b"")):
                        yield self._parse(data)
            for data in self._parser.close():
                yield self._parse(data)
        except ProxyError:
            raise
        except Exception as exc:
            raise stream_failure(exc, self.config.endpoint_name) from None

    def _parse(self, data: str) -> JsonObject:
        try:
            event = json.loads(data)
        except ValueError:
            event = None
        if isinstance(event, dict) and "error" in event and "token" not in event:
            raise tgi_error(event)
        if not isinstance(event, dict) or not isinstance(event.get("token"), dict):
            raise ProxyError(
                502,
                "upstream_error",
                "The model streamed an event in an unexpected shape; see the proxy logs for this request id.",
                log_fields={"upstream_event_bytes": len(data)},
            )
        now = time.perf_counter()
        self._tokens += 1
        self._first_at = self._first_at or now
        self._last_at = now
        if event.get("generated_text") is not None:
            self._final = event
        return event

    def _generate(self) -> Generator[bytes, None, None]:
        try:
            yield from self._shape.start()
            event = self._first
            while event is not None:
                yield from self._shape.token(event)
                if self._final is not None:
                    break
                event = next(self._tgi, None)
            if self._final is None:
                raise ProxyError(
                    502,
                    "upstream_error",
                    "The model's stream ended before its last token; the answer is incomplete.",
                    log_fields={"mid_stream": True},
                )
            yield from self._shape.end()
        except ProxyError as exc:
            self._error = exc
            yield sse(exc.body(self.request_id))
        except Exception:
            self._log.exception("unexpected failure", extra={"request_id": self.request_id})
            self._error = ProxyError(
                500, "internal_error", "The proxy failed unexpectedly; its logs hold the details."
            )
            yield sse(self._error.body(self.request_id))
        finally:
            self._write_log()

    def _write_log(self) -> None:
        if self._logged:
            return
        self._logged = True
        now = time.perf_counter()
        fields = self._fields
        fields.update(streamed=True, status=200, completion_tokens=self._tokens)
        if self._first_at is not None:
            fields["time_to_first_token_ms"] = round((self._first_at - self._model_started) * 1000, 3)
        if self._first_at is not None and self._last_at is not None and self._last_at > self._first_at:
            # Decode speed: tokens after the first over the time after it (prefill is in time to first token).
            fields["tokens_per_second"] = round((self._tokens - 1) / (self._last_at - self._first_at), 3)
        if self._final is not None:
            details = self._final.get("details")
            if isinstance(details, dict):
                if isinstance(details.get("generated_tokens"), int):
                    fields["completion_tokens"] = details["generated_tokens"]
                if details.get("finish_reason") is not None:
                    fields["finish_reason"] = details["finish_reason"]
            if self.config.log_prompts:
                fields["completion"] = self._final.get("generated_text")
        if self._error is not None:
            fields.update(self._error.log_fields)
            fields["error_type"] = self._error.error_type
        if self._disconnected:
            fields["caller_disconnected"] = True
        fields["model_latency_ms"] = round((now - self._model_started) * 1000, 3)
        fields["latency_ms"] = round((now - self._started) * 1000, 3)
        failed = self._error is not None and self._error.status >= 500
        self._log.log(logging.ERROR if failed else logging.INFO, "request", extra=fields)
        # The HTTP status was 200, but a caller whose answer ended in an error event got that error: the
        # metrics count it in the error's status class, as the buffered route would have answered it.
        measured = {**fields, "status": self._error.status} if self._error is not None else fields
        write_request_metrics(measured, endpoint_name=self.config.endpoint_name, routes=ROUTES)


def open_stream(
    proxy: Proxy,
    call: ModelCall,
    payload: bytes,
    request_id: str,
    remaining_ms: Callable[[], int] | None,
    fields: dict[str, Any],
    started: float,
) -> TokenStream:
    """Call InvokeEndpointWithResponseStream and wait for the first event (errors up to there raise)."""
    model_started = time.perf_counter()
    try:
        body, attempts = invoke_stream(
            proxy.client,
            proxy.config.endpoint_name,
            payload,
            inference_component_name=proxy.config.inference_component_name,
            sleep=proxy._sleep,
            remaining_ms=remaining_ms,
        )
        fields["attempts"] = attempts
        stream = TokenStream(
            call,
            proxy.config,
            body,
            request_id,
            log=proxy._log,
            fields=fields,
            started=started,
            model_started=model_started,
        )
        stream.wait_for_first_event()
    finally:
        # For the log line of a failure before the first event; the stream's own line overwrites it.
        fields["model_latency_ms"] = round((time.perf_counter() - model_started) * 1000, 3)
    return stream
