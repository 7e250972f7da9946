"""Streamed answers: InvokeEndpointWithResponseStream's PayloadParts in, complete server-sent events out.

TGI streams server-sent events (one ``data:`` JSON per token, the last one also carrying ``generated_text`` and
``details``); SageMaker cuts those bytes into PayloadParts wherever it likes, so one part can hold half an event
or several. ``SseParser`` (``sse.py``) reassembles them; ``TokenStream`` hands each TGI event to the route's
events (``stream_events.py`` says what each route sends) and yields only whole events. A failure after the first event (ModelStreamError, InternalStreamFailure,
TGI's own error event, a read timeout, a stream cut short) ends the stream with one last event holding the
buffered routes' error body, ``{"error": {"type", "message"}, "request_id"}``. A failure before the first
event is a plain JSON error (``model_route.ModelRoute`` opens the stream and waits for that event).

The stream writes the request's log line and metrics itself, when it ends, with the collaborators it is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .collaborators import Collaborators
from .config import Config
from .encoding import sse
from .errors import ProxyError, model_overloaded, model_rejected_input
from .records import Request
from .sagemaker import READ_TIMEOUT_SECONDS, map_error
from .sagemaker_errors import stream_timed_out
from .sse import SseParser
from .tgi import JsonObject, details_of

if TYPE_CHECKING:
    from .records import StreamEvents

# --- mid-stream failures -----------------------------------------------------------------------------------


def stream_failure(exc: Exception, endpoint_name: str) -> ProxyError:
    """What the caller's final error event says about a failure while reading SageMaker's event stream."""
    log: dict[str, Any] = {"upstream_exception": type(exc).__name__, "mid_stream": True}
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        log.update(upstream_code=code, upstream_message=error.get("Message", ""))
        if code == "ModelStreamError":
            # ModelInvocationTimeExceeded, told apart from StreamBroken by its message (sagemaker_errors).
            if stream_timed_out(error.get("Message", ""), exc.response.get("ErrorCode", "")):
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


# --- the stream ---------------------------------------------------------------------------------------------


class TokenStream:
    """The events of one streamed answer, each a complete server-sent event (bytes).

    Iterate it once, then ``close()`` it; ``close(disconnected=True)`` when the caller went away: it stops
    reading from SageMaker (closing botocore's stream closes the connection) and writes the log line.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        body: Any,
        events: StreamEvents,
        request: Request,
        log_fields: Mapping[str, Any],
        config: Config,
        services: Collaborators,
        *,
        model_started: float,
    ) -> None:
        """``body`` is botocore's event stream of PayloadParts; ``log_fields`` what the request's log line
        holds so far besides the request's own fields; ``model_started`` the clock when the call began."""
        self.request = request
        self.config = config
        self._body = body
        self._shape = events
        self._fields = log_fields
        self._services = services
        self._model_started = model_started
        self._parser = SseParser()
        self._tgi = self._tgi_events()
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
        now = self._services.clock()
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
            yield sse(exc.body(self.request.request_id))
        except Exception:
            self._services.log.exception("unexpected failure", extra=self.request.log_fields())
            self._error = ProxyError(
                500, "internal_error", "The proxy failed unexpectedly; its logs hold the details."
            )
            yield sse(self._error.body(self.request.request_id))
        finally:
            self._write_log()

    def _write_log(self) -> None:
        if self._logged:
            return
        self._logged = True
        now = self._services.clock()
        line: dict[str, Any] = {
            **self.request.log_fields(),
            **self._fields,
            "model_latency_ms": round((now - self._model_started) * 1000, 3),
            "streamed": True,
            "status": 200,
            "completion_tokens": self._tokens,
        }
        if self._first_at is not None:
            line["time_to_first_token_ms"] = round((self._first_at - self._model_started) * 1000, 3)
        if self._first_at is not None and self._last_at is not None and self._last_at > self._first_at:
            # Decode speed: tokens after the first over the time after it (prefill is in time to first token).
            line["tokens_per_second"] = round((self._tokens - 1) / (self._last_at - self._first_at), 3)
        if self._final is not None:
            details = details_of(self._final)
            if isinstance(details.get("generated_tokens"), int):
                line["completion_tokens"] = details["generated_tokens"]
            if details.get("finish_reason") is not None:
                line["finish_reason"] = details["finish_reason"]
            if self.config.log_prompts:
                line["completion"] = self._final.get("generated_text")
        if self._error is not None:
            line.update(self._error.log_fields)
            line["error_type"] = self._error.error_type
        if self._disconnected:
            line["caller_disconnected"] = True
        line["latency_ms"] = round((now - self.request.received) * 1000, 3)
        failed = self._error is not None and self._error.status >= 500
        self._services.log.log(logging.ERROR if failed else logging.INFO, "request", extra=line)
        # The HTTP status was 200, but a caller whose answer ended in an error event got that error: the
        # metrics count it in the error's status class, as the buffered route would have answered it.
        measured = {**line, "status": self._error.status} if self._error is not None else line
        self._services.write_metrics(measured)
