"""The sweep: for each input size, cells of 1, 2, 4, ... closed-loop users.

Each user is a thread that sends its next request as soon as the last one ends (after a 429 it waits
``wait_after_429_s`` first, as a polite client would). Each user's first ``warmup`` requests are recorded but
excluded from the figures. A cell ends after ``requests_per_user`` requests per user, or once ``duration_s``
has passed (requests in flight then finish and count). A cell in which every request timed out ends that input
size's sweep: its larger cells are marked "timeout" without being run, as in the launch article.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from . import workload
from .stats import SKIPPED, TIMED_OUT, CellFigures, RequestRecord, summarize
from .targets import OK, OVERLOADED, Outcome, Target

DEFAULT_USERS = (1, 2, 4, 8, 16, 32, 64, 128)
DEFAULT_INPUT_WORDS = (128, 512, 6400)
DEFAULT_OUTPUT_TOKENS = 128


@dataclass(frozen=True)
class SweepConfig:
    users: Sequence[int] = DEFAULT_USERS
    input_words: Sequence[int] = DEFAULT_INPUT_WORDS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    requests_per_user: int | None = 3  # measured requests per user (warm-up not included)
    duration_s: float | None = None  # instead of a request count: measure this long per cell
    warmup: int = 1  # requests per user excluded from the figures
    stream: bool = False
    truncate: int | None = None
    wait_after_429_s: float = 1.0


@dataclass
class Cell:
    figures: CellFigures
    records: list[RequestRecord]


class Progress:
    """One status line on stderr: rewritten in place on a terminal, every ``interval_s`` otherwise."""

    def __init__(self, stream: IO[str] | None = None, interval_s: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.5 if self.tty else 10.0)

    def show(self, label: str, elapsed_s: float, done: int, errors: int, final: bool = False) -> None:
        line = f"{label} | {elapsed_s:6.1f} s | {done} requests done | {errors} errors"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def run_cell(
    target: Target,
    config: SweepConfig,
    users: int,
    input_words: int,
    *,
    progress: Progress | None = None,
    label: str = "",
) -> Cell:
    body = workload.request_body(
        input_words, config.output_tokens, stream=config.stream, truncate=config.truncate
    )
    records: list[RequestRecord] = []
    lock = threading.Lock()
    barrier = threading.Barrier(users + 1)
    origin = 0.0
    deadline: float | None = None

    def user(index: int) -> None:
        barrier.wait()
        sequence = 0
        while True:
            warmup = sequence < config.warmup
            if not warmup:
                if (
                    config.requests_per_user is not None
                    and sequence >= config.warmup + config.requests_per_user
                ):
                    return
                if deadline is not None and time.perf_counter() >= deadline:
                    return
            outcome = target.send(body, config.stream)
            record = RequestRecord(
                user=index,
                sequence=sequence,
                warmup=warmup,
                start_s=outcome.start - origin,
                end_s=outcome.end - origin,
                kind=outcome.kind,
                generated_tokens=outcome.generated_tokens,
                ttft_s=None if outcome.first_token is None else outcome.first_token - outcome.start,
                finish_reason=outcome.finish_reason,
                status=outcome.status,
                message=outcome.message,
            )
            with lock:
                records.append(record)
            sequence += 1
            if outcome.kind == OVERLOADED:
                time.sleep(config.wait_after_429_s)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    origin = time.perf_counter()
    if config.duration_s is not None:
        deadline = origin + config.duration_s  # warm-up requests are sent whatever the clock says
    barrier.wait()
    next_report = origin + (progress.interval_s if progress else 0)
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.1)
        if progress and time.perf_counter() >= next_report:
            with lock:
                done, errors = len(records), sum(1 for r in records if r.kind != OK)
            progress.show(label, time.perf_counter() - origin, done, errors)
            next_report = time.perf_counter() + progress.interval_s
    for thread in threads:
        thread.join()
    records.sort(key=lambda r: (r.start_s, r.user))
    figures = summarize(records, input_words=input_words, output_tokens=config.output_tokens, users=users)
    if progress:
        errors = sum(1 for r in records if r.kind != OK)
        progress.show(label, time.perf_counter() - origin, len(records), errors, final=True)
    return Cell(figures, records)


CHECK_WORDS = 8  # the check request: a short prompt and one new token, so it costs next to nothing
CHECK_OUTPUT_TOKENS = 1


def check_target(target: Target, config: SweepConfig) -> Outcome:
    """One request before the sweep, shaped like the sweep's (streamed or not, ``truncate``), but small: a target
    that cannot answer it would only fill every cell with the same error."""
    body = workload.request_body(
        CHECK_WORDS, CHECK_OUTPUT_TOKENS, stream=config.stream, truncate=config.truncate
    )
    return target.send(body, config.stream)


def run_sweep(
    target: Target,
    config: SweepConfig,
    *,
    progress: Progress | None = None,
    on_cell: Callable[[Cell], None] | None = None,
) -> list[Cell]:
    """Every cell, input size by input size, users ascending; a fully timed-out cell skips the larger ones."""
    cells: list[Cell] = []
    users_sorted = sorted(set(config.users))
    total = len(users_sorted) * len(config.input_words)
    number = 0
    for words in config.input_words:
        timed_out_at: int | None = None
        for users in users_sorted:
            number += 1
            if timed_out_at is not None:
                figures = CellFigures(
                    input_words=words, output_tokens=config.output_tokens, users=users, state=SKIPPED
                )
                cell = Cell(figures, [])
            else:
                label = f"cell {number}/{total}: {words} words x {users} users"
                cell = run_cell(target, config, users, words, progress=progress, label=label)
                if cell.figures.state == TIMED_OUT:
                    timed_out_at = users
            cells.append(cell)
            if on_cell:
                on_cell(cell)
    return cells
