"""Waiting for a model that scales up from zero: every request the client makes goes through ``with_wake_wait``.

A scale-to-zero deployment answers 503 ``model_scaling_up`` (the contract's ``MODEL_SCALING_UP_ERROR``) with a
Retry-After while its first copy starts; the client retries within ``--wait``, saying what it waits for.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from invoke_proxy.contract import MODEL_SCALING_UP_ERROR

from .errors import CliError

SCALING_UP = MODEL_SCALING_UP_ERROR  # the proxy's 503 while an inference component has no copy
DEFAULT_WAIT_SECONDS = 15 * 60.0  # the proxy says a wake takes about 5-10 minutes
DEFAULT_RETRY_AFTER_SECONDS = 30.0  # when the answer has no usable Retry-After
RETRY_AFTER_BOUNDS = (5.0, 120.0)  # a Retry-After is honoured within these bounds


class Answer(Protocol):
    """What the wait needs of an answer: a buffered ``HttpAnswer``, or a streaming response's head."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


A = TypeVar("A", bound=Answer)


def scaling_up_delay(answer: Answer) -> float | None:
    """Seconds to wait before the next try when ``answer`` is the proxy's 503 ``model_scaling_up``, else None."""
    if answer.status != 503:
        return None
    payload = answer.json()
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or error.get("type") != SCALING_UP:
        return None
    raw = {k.lower(): v for k, v in answer.headers.items()}.get("retry-after")
    try:
        seconds = float(raw) if raw is not None else DEFAULT_RETRY_AFTER_SECONDS
    except ValueError:  # an HTTP date, or garbage: the proxy sends seconds
        seconds = DEFAULT_RETRY_AFTER_SECONDS
    if not math.isfinite(seconds):
        seconds = DEFAULT_RETRY_AFTER_SECONDS
    low, high = RETRY_AFTER_BOUNDS
    return min(max(seconds, low), high)


def duration(seconds: float) -> str:
    """``2m10s``, ``15m0s``, ``45s``, ``1h5m0s``: whole seconds, rounded up so a wait never reads as 0s."""
    total = max(0, math.ceil(seconds - 1e-9))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def parse_wait(text: str) -> float:
    """``--wait``: seconds, or a number with s, m or h (``900``, ``90s``, ``15m``, ``1h``); 0 disables."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: use seconds or a duration like 90s, 15m or 1h")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def with_wake_wait(
    send: Callable[[], A],
    *,
    wait_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    progress: Callable[[str], None],
    describe: Callable[[A], str] = lambda answer: "",
) -> A:
    """Call ``send`` until its answer is not the proxy's ``model_scaling_up``, for at most ``wait_seconds``.

    Every request the CLI makes goes through here (buffered or streamed: ``send`` returns anything with a
    status, headers and ``json()`` of an error body). Waits honour the proxy's Retry-After (bounded), report on
    ``progress`` what is awaited and for how long, and never outlast ``wait_seconds``: the last try happens at
    the deadline. Returns the first other answer; raises ``CliError`` if the model is still waking at the
    deadline. With ``wait_seconds`` 0 the first answer is returned as it is.
    """
    started = clock()
    answer = send()
    delay = scaling_up_delay(answer)
    if delay is None or wait_seconds <= 0:
        return answer
    limit = duration(wait_seconds)
    progress(
        "The model is scaling up from zero instances (the proxy expects about 5-10 minutes); "
        f"waiting up to {limit} (--wait), Ctrl-C stops."
    )
    while delay is not None:
        elapsed = clock() - started
        remaining = wait_seconds - elapsed
        if remaining <= 0:
            detail = describe(answer)
            raise CliError(
                f"The model was still scaling up from zero after {duration(elapsed)} (--wait {limit})"
                + (f": {detail}" if detail else "")
                + ". It keeps starting: try again in a few minutes, or wait longer with --wait 30m."
            )
        pause = min(delay, remaining)
        progress(
            f"model scaling up from zero: waited {duration(elapsed)} of {limit}, next try in {duration(pause)}"
        )
        sleep(pause)
        answer = send()
        delay = scaling_up_delay(answer)
    progress(f"model answered after {duration(clock() - started)}")
    return answer
