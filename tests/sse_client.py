"""A minimal server-sent events client over http.client, reading events as they arrive (chunked or not)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit


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
        """The data of each event, as soon as its blank line arrives."""
        data: list[str] = []
        while True:
            line = self.response.readline()
            if not line:
                return
            text = line.decode("utf-8").rstrip("\r\n")
            if not text:
                if data:
                    yield "\n".join(data)
                    data = []
            elif text.startswith("data:"):
                data.append(text[5:].removeprefix(" "))

    def json_events(self) -> list[Any]:
        return [event if event == "[DONE]" else json.loads(event) for event in self.events()]

    def body(self) -> Any:
        return json.loads(self.response.read())

    def close(self) -> None:
        self.connection.close()
