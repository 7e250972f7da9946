"""JSON text for the wire: response bodies (both transports) and server-sent events (streamed answers)."""

from __future__ import annotations

import json
from typing import Any

#: The OpenAI stream's last event.
DONE = b"data: [DONE]\n\n"


def json_text(body: Any) -> str:
    """JSON that always encodes as UTF-8: non-ASCII text as is, unless the body holds a lone surrogate (an
    error can echo a request's key, and JSON's ``\\ud800`` escapes let callers send those), then all escaped."""
    text = json.dumps(body, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body, ensure_ascii=True)
    return text


def sse(body: object) -> bytes:
    """One server-sent event: JSON on one ``data:`` line (JSON escapes every newline)."""
    return b"data: " + json_text(body).encode("utf-8") + b"\n\n"
