"""Scripted answers for the stand-in: TGI 1.1's stream events, and what a test plays back step by step.

A step is bytes (written at once), a ``threading.Event`` (waited on: the test decides when the model "generates"
the next token) or a float (a pause).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import eventstream

Step = bytes | threading.Event | float


def tgi_token(
    text: str,
    index: int = 1,
    *,
    final: str | None = None,
    finish_reason: str = "eos_token",
    special: bool = False,
    generated_tokens: int | None = None,
) -> dict[str, Any]:
    """One TGI 1.1 stream event; the last one (``final``: the generated text) carries details."""
    event: dict[str, Any] = {
        "token": {"id": 1000 + index, "text": text, "logprob": -0.25, "special": special},
        "generated_text": final,
        "details": None,
    }
    if final is not None:
        event["details"] = {
            "finish_reason": finish_reason,
            "generated_tokens": generated_tokens or index,
            "seed": None,
        }
    return event


def sse_bytes(event: object) -> bytes:
    """TGI's framing of one event: ``data:`` then the JSON, then a blank line."""
    return b"data:" + json.dumps(event).encode() + b"\n\n"


def tokens_script(texts: Sequence[str], finish_reason: str = "eos_token") -> list[Step]:
    """One PayloadPart per token; the last token's event ends the generation."""
    full = "".join(texts)
    return [
        eventstream.payload_part(
            sse_bytes(
                tgi_token(
                    text,
                    index,
                    final=full if index == len(texts) else None,
                    finish_reason=finish_reason,
                )
            )
        )
        for index, text in enumerate(texts, start=1)
    ]


def endless_tokens(pause: float = 0.02, limit: int = 1500) -> Iterator[Step]:
    """A model that would go on for a long while: one token every ``pause`` seconds."""
    for index in range(1, limit + 1):
        yield eventstream.payload_part(sse_bytes(tgi_token(" word", index)))
        yield pause


@dataclass
class Recorded:
    """One request as the stand-in received it."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    """A scripted answer: the steps of a 200 stream, or a buffered answer (``body`` set: an error, or
    InvokeEndpoint's JSON) written as it is with its status and headers."""

    steps: list[Step] = field(default_factory=list)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
