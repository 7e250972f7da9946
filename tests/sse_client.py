"""A minimal server-sent events client over http.client, reading events as they arrive (chunked or not), with
the runtime's one SSE parser (``invoke_proxy.sse``)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from invoke_proxy.sse import SseParser


class SseResponse:
    def __init__(self, url: str, path: str, body: Any, timeout: float = 15) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.connection.request("POST", path, data, {"Content-Type": "application/json"})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}

    def events(self) -> Iterator[str]:
        """The data of each event, as soon as its blank line arrives (the runtime's parser, line by line)."""
        parser = SseParser()
        while line := self.response.readline():
            yield from parser.feed(line)
        yield from parser.close()

    def json_events(self) -> list[Any]:
        return [event if event == "[DONE]" else json.loads(event) for event in self.events()]

    def body(self) -> Any:
        return json.loads(self.response.read())

    def close(self) -> None:
        self.connection.close()
