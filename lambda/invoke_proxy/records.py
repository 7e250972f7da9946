"""The records one request passes through: ``Request`` in, a route handler's ``Answer`` out.

The transports hand the pipeline (``core.Proxy``) a method, a path and the raw body; it makes them a frozen
``Request`` that every step reads and none changes. A route handler returns an ``Answer``: a buffered
``Response`` or a stream, with the fields it adds to the request's log line. A handler that fails part way
raises ``Failed``, which carries the log fields it had gathered by then next to the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from .contract import UNVERIFIED_CALLER

if TYPE_CHECKING:  # types only: no Protocol class to build on the cold start
    from typing import Protocol

    class Stream(Protocol):
        """A streamed answer: complete server-sent events; ``close`` writes the request's log line."""

        media_type: str

        def __iter__(self) -> Any: ...

        def close(self, *, disconnected: bool = False) -> None: ...

    class StreamEvents(Protocol):
        """How a route shapes TGI's stream events into the server-sent events its callers read."""

        def start(self) -> list[bytes]: ...

        def token(self, event: JsonObject) -> list[bytes]: ...

        def end(self) -> list[bytes]: ...


JsonObject = dict[str, Any]


@dataclass(frozen=True, eq=False)  # eq: no use comparing requests, and a little less cold start
class Request:
    """One request, as the transport received it, with the route its path names. Frozen: every step reads
    it, none changes it."""

    method: str
    route: str  # the path, normalized (``paths.normalize_path``)
    body: bytes
    request_id: str
    received: float  # the proxy's clock on arrival: latency_ms counts from here
    remaining_ms: Callable[[], int] | None = None  # the invocation's time left, when the transport knows it
    can_stream: bool = False  # the transport can send server-sent events
    caller: str = UNVERIFIED_CALLER  # who signed it (``identity.caller_name``): logged and measured

    def log_fields(self) -> dict[str, Any]:
        """The fields every log line about this request starts with."""
        return {
            "request_id": self.request_id,
            "route": self.route,
            "method": self.method,
            "caller": self.caller,
        }


class Response(NamedTuple):
    status: int
    body: JsonObject
    headers: dict[str, str]


class Document(NamedTuple):
    """An answer written as it is, by the HTTP app only. ``mistral-invoke serve``'s own routes (its OpenAPI
    document, its chat page) answer with one in front of the proxy; the proxy's routes never do."""

    status: int
    headers: dict[str, str]  # Content-Type among them
    body: bytes


class Answer(NamedTuple):
    """What a route handler returns: the response, and the fields it adds to the request's log line (a
    stream writes its own line when it ends)."""

    response: Response | Stream
    log_fields: Mapping[str, Any]


class Failed(Exception):
    """A route handler's failure (``error``), with the log fields it had gathered when it failed."""

    def __init__(self, error: Exception, log_fields: Mapping[str, Any]) -> None:
        super().__init__(str(error))
        self.error = error
        self.log_fields = log_fields
