"""Server-sent events from byte chunks cut anywhere (standard library only).

The proxy reads TGI's events from SageMaker's PayloadParts with it, and ``mistral-invoke`` reads the proxy's
events from the HTTP response with it: one parser for both ends.
"""

from __future__ import annotations


class SseParser:
    """Server-sent events from byte chunks cut anywhere: ``feed`` returns the data of each completed event."""

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._pending += chunk
        if b"\n" not in chunk:
            return []
        *lines, self._pending = self._pending.split(b"\n")
        events: list[str] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[str]:
        """At the end of the stream: an event whose blank line never came still counts (TGI ends with one)."""
        events: list[str] = []
        if self._pending:
            self._line(self._pending, events)
            self._pending = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[str]) -> None:
        line = line.removesuffix(b"\r")
        if not line:
            if self._data:
                events.append("\n".join(self._data))
                self._data = []
            return
        name, _, value = line.partition(b":")
        if name == b"data":  # comments (":...") and other fields (event, id, retry) carry nothing for us
            self._data.append(value.removeprefix(b" ").decode("utf-8", "replace"))
