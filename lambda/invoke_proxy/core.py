"""The proxy's request pipeline, the same for every transport: a request record, its route's handler, one
response, one log line and one metrics line.

Transports hand it a method, a path and the raw body, and turn its answer back into their own shape: the
buffered function URL adapter (``function_url.py``) calls ``Proxy.handle`` and gets a ``Response``; the HTTP
app behind the Lambda Web Adapter (``http_server.py``, also ``mistral-invoke serve``) calls ``Proxy.open``,
which answers ``"stream": true`` requests with a stream of server-sent events (``streaming.py``). Each route's
own work is its handler's (``routes.py`` lists them); what the pipeline talks to outside itself comes in as
``Collaborators``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .collaborators import LOG, Collaborators
from .config import Config
from .contract import UNVERIFIED_CALLER
from .errors import ProxyError
from .metrics import write_request_metrics
from .paths import normalize_path
from .records import Failed, Request, Response
from .routes import ROUTES, find

if TYPE_CHECKING:
    from .records import Stream

__all__ = ["ROUTES", "Proxy"]


class Proxy:
    """The proxy for one container: configuration and collaborators, both created once."""

    def __init__(
        self,
        config: Config,
        client: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
        logger: logging.Logger = LOG,
        write_metrics: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> None:
        """``client`` is the SageMaker runtime client; the others default to the real clock, sleep, the
        ``invoke_proxy`` logger and EMF lines on stdout (``metrics.write_request_metrics``)."""
        self.config = config
        if write_metrics is None:
            write_metrics = partial(
                write_request_metrics,
                endpoint_name=config.endpoint_name,
                routes=ROUTES,
                caller_metrics=config.caller_metrics,
            )
        self.services = Collaborators(client, write_metrics, sleep, clock, wall_clock, logger)

    @property
    def client(self) -> Any:
        return self.services.client

    def handle(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None = None,
        *,
        caller: str = UNVERIFIED_CALLER,
    ) -> Response:
        """Answer one request buffered: ``"stream": true`` is refused (400), as this transport cannot stream.

        Never raises: every failure becomes an error response without a stack trace. ``caller`` is the
        verified principal's name (``identity.caller_name``), for the log and metrics lines.
        """
        answer = self.serve(self.request(method, path, body, request_id, remaining_ms, caller=caller))
        assert isinstance(answer, Response)
        return answer

    def open(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None = None,
        *,
        caller: str = UNVERIFIED_CALLER,
    ) -> Response | Stream:
        """Answer one request; a ``"stream": true`` one with a stream once the model's first event has
        arrived (a failure before it is a plain error ``Response``). The transport iterates the stream's
        events, then closes it (also when the caller goes away); the stream writes the request's log line."""
        request = self.request(method, path, body, request_id, remaining_ms, can_stream=True, caller=caller)
        return self.serve(request)

    def request(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None = None,
        *,
        can_stream: bool = False,
        caller: str = UNVERIFIED_CALLER,
    ) -> Request:
        """The record of a request arriving now."""
        received = self.services.clock()
        route = normalize_path(path)
        return Request(method, route, body, request_id, received, remaining_ms, can_stream, caller)

    def serve(self, request: Request) -> Response | Stream:
        """Run the request's route handler; log the request and write its metrics (a stream does both when
        it ends). Never raises."""
        try:
            answer = find(request.route, request.method)(request, self.config, self.services)
        except Exception as exc:
            response, fields = self._failure(request, exc)
        else:
            if not isinstance(answer.response, Response):
                return answer.response  # it logs the request when it ends
            response, fields = answer.response, answer.log_fields
        line = {**request.log_fields(), **fields, "status": response.status}
        line["latency_ms"] = round((self.services.clock() - request.received) * 1000, 3)
        level = logging.ERROR if response.status >= 500 else logging.INFO
        self.services.log.log(level, "request", extra=line)
        self.services.write_metrics(line)
        return response

    def _failure(self, request: Request, exc: Exception) -> tuple[Response, Mapping[str, Any]]:
        """The error response for a handler's failure, and the log fields for it."""
        error, known = (exc.error, exc.log_fields) if isinstance(exc, Failed) else (exc, {})
        if isinstance(error, ProxyError):
            fields = {**known, **error.log_fields, "error_type": error.error_type}
            return Response(error.status, error.body(request.request_id), dict(error.headers)), fields
        self.services.log.error(
            "unexpected failure",
            exc_info=error,
            extra=request.log_fields(),
        )
        internal = ProxyError(
            500, "internal_error", "The proxy failed unexpectedly; its logs hold the details."
        )
        return Response(500, internal.body(request.request_id), {}), {
            **known,
            "error_type": internal.error_type,
        }
