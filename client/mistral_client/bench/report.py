"""The results folder: the launch article's table layout in Markdown, a CSV with every figure, a JSON with every
request's timings, and a PNG chart (matplotlib, from the ``chart`` extra, imported only here)."""

from __future__ import annotations

import csv
import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .stats import MEASURED, SKIPPED, TIMED_OUT, CellFigures
from .sweep import Cell, SweepConfig

# The launch article's own measurements (ml.g5.2xlarge, mistral-7b-instruct, TGI 1.1, 128 output tokens), by
# input words, for 1, 2, 4, ..., 128 concurrent users; None where the article reports timeouts.
ARTICLE_USERS = (1, 2, 4, 8, 16, 32, 64, 128)
ARTICLE_THROUGHPUT: Mapping[int, Sequence[float | None]] = {
    128: (30, 54, 89, 166, 287, 499, 793, 1030),
    512: (29, 50, 80, 140, 210, 315, 383, 458),
    6400: (17, 25, 30, 35, None, None, None, None),
}
ARTICLE_MS_PER_TOKEN: Mapping[int, Sequence[float | None]] = {
    128: (32, 33, 34, 36, 41, 46, 59, 88),
    512: (34, 36, 39, 43, 54, 71, 112, 213),
    6400: (57, 71, 98, 154, None, None, None, None),
}
MISSING_CHART_LIBRARY = (
    "The chart needs matplotlib, which comes with the chart extra: pip install 'mistral-endpoint-client[chart]' "
    "(or pip install -e 'client[chart]' in a checkout). The table, CSV and JSON were written; rerun for the chart, "
    "or pass --no-chart."
)


class ChartUnavailable(Exception):
    """matplotlib is not installed."""


# --- Markdown ---------------------------------------------------------------------------------------------------


def _grid(cells: Sequence[Cell]) -> tuple[list[int], list[int], dict[tuple[int, int], CellFigures]]:
    words = list(dict.fromkeys(c.figures.input_words for c in cells))
    users = sorted({c.figures.users for c in cells})
    return words, users, {(c.figures.input_words, c.figures.users): c.figures for c in cells}


def _value(figures: CellFigures | None, read: Callable[[CellFigures], float | None], digits: int) -> str:
    if figures is None:
        return ""
    if figures.state in (TIMED_OUT, SKIPPED):
        return "timeout"
    value = read(figures)
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    return text + (" †" if figures.errors or figures.short else "")


def markdown_table(
    cells: Sequence[Cell],
    title: str,
    read: Callable[[CellFigures], float | None],
    *,
    model: str,
    instance: str,
    digits: int = 0,
) -> str:
    """One of the article's tables: a row per input size, a column per number of concurrent users."""
    words, users, grid = _grid(cells)
    output_tokens = cells[0].figures.output_tokens if cells else 0
    head = ["model", "instance type", "input words", "output tokens", *(str(u) for u in users)]
    lines = [
        f"**{title}**, by concurrent users",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", "---", "---:", "---:", *("---:" for _ in users)]) + "|",
    ]
    for index, count in enumerate(words):
        row = [model if index == 0 else "", instance if index == 0 else "", str(count), str(output_tokens)]
        row += [_value(grid.get((count, u)), read, digits) for u in users]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown(
    cells: Sequence[Cell],
    config: SweepConfig,
    *,
    target: str,
    model: str,
    instance: str,
    started: str,
    expected: Callable[[CellFigures], dict[str, float]] | None = None,
) -> str:
    def table(title: str, read: Callable[[CellFigures], float | None], digits: int = 0) -> str:
        return markdown_table(cells, title, read, model=model, instance=instance, digits=digits)

    length = (
        f"{config.requests_per_user} measured requests per user"
        if config.duration_s is None
        else f"{config.duration_s:g} s per cell"
    )
    parts = [
        "# mistral-bench results",
        "",
        f"Target: {target}. {'Streaming' if config.stream else 'Buffered'} requests, "
        f"{config.output_tokens} output tokens each, closed-loop users, {length} after {config.warmup} "
        f"warm-up request(s) per user. Started {started}.",
        "",
        table("throughput (tokens/s)", lambda f: f.throughput_tps),
        "",
        table("p50 latency (ms/token)", lambda f: f.ms_per_token_p50),
        "",
        table("p90 latency (ms/token)", lambda f: f.ms_per_token_p90),
        "",
    ]
    if config.stream:
        parts += [
            table("p50 time to first token (ms)", lambda f: f.ttft_ms_p50),
            "",
            table("p90 time to first token (ms)", lambda f: f.ttft_ms_p90),
            "",
        ]
    parts += [table("requests per second", lambda f: f.requests_per_s, digits=2), ""]
    parts += [
        '"timeout": every request of the cell timed out (and the larger cells of that input size were not run); '
        "† some requests of the cell failed or generated fewer tokens than asked: see below. Latency per token is "
        "a request's whole latency (time to first token included) divided by its generated tokens.",
        "",
        "**Errors, timeouts and short generations** (measured requests; warm-up excluded)",
        "",
    ]
    parts += _trouble_table(cells)
    if expected is not None:
        parts += _expected_table(cells, expected)
    return "\n".join(parts) + "\n"


def _trouble_table(cells: Sequence[Cell]) -> list[str]:
    """The cells with errors, timeouts or short generations, one row each (or a line saying there are none)."""
    troubled = [
        c.figures for c in cells if c.figures.state == MEASURED and (c.figures.errors or c.figures.short)
    ]
    troubled += [c.figures for c in cells if c.figures.state == TIMED_OUT]
    if not troubled:
        return ["None: every measured request succeeded and generated every token asked for."]
    rows = [
        "| input words | users | requests | ok | short | 429 | 5xx | timeout | other | first messages |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in troubled:
        messages = "; ".join(f"{m} (x{n})" for m, n in list(f.errors_by_message.items())[:2])
        rows.append(
            f"| {f.input_words} | {f.users} | {f.requests} | {f.ok} | {f.short} | {f.errors_429} | "
            f"{f.errors_5xx} | {f.timeouts} | {f.errors_other} | {messages.replace('|', '/')} |"
        )
    return rows


def _expected_table(cells: Sequence[Cell], expected: Callable[[CellFigures], dict[str, float]]) -> list[str]:
    """Each cell's figures beside the stand-in's analytic values (the self-test's report)."""
    rows = [
        "",
        "**Measured against the stand-in's analytic values**",
        "",
        "| input words | users | throughput | expected | ms/token p50 | expected | TTFT p50 (ms) | expected |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        f, e = c.figures, expected(c.figures)
        rows.append(
            f"| {f.input_words} | {f.users} | {_num(f.throughput_tps)} | {e['throughput_tps']:.1f} | "
            f"{_num(f.ms_per_token_p50)} | {e['ms_per_token']:.1f} | {_num(f.ttft_ms_p50)} | "
            f"{e['ttft_ms']:.1f} |"
        )
    return rows


def cells_without_success(cells: Sequence[Cell]) -> list[str]:
    """One line per cell that has no successful measured request (so no figures), saying why."""
    lines: list[str] = []
    for cell in cells:
        f = cell.figures
        if f.ok:
            continue
        where = f"{f.input_words} words x {f.users} users"
        if f.state == SKIPPED:
            why = "not run: a cell with fewer users and the same input size timed out entirely"
        elif not f.requests:
            why = "no measured request (the warm-up outlasted --duration?)"
        else:
            message, count = max(f.errors_by_message.items(), key=lambda item: item[1], default=("?", 0))
            state = (
                "every request timed out" if f.state == TIMED_OUT else f"0 of {f.requests} requests succeeded"
            )
            why = f"{state}; most often ({count}x) {message}"
        lines.append(f"{where}: {why}")
    return lines


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# --- files --------------------------------------------------------------------------------------------------------


def write_csv(
    path: Path, cells: Sequence[Cell], expected: Callable[[CellFigures], dict[str, float]] | None
) -> None:
    rows = []
    for cell in cells:
        row = cell.figures.row()
        if expected is not None:
            row.update({f"expected_{k}": v for k, v in expected(cell.figures).items()})
        rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["input_words"])
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: Path, cells: Sequence[Cell], config: SweepConfig, meta: dict[str, Any]) -> None:
    document = {
        **meta,
        "config": asdict(config),
        "cells": [
            {"figures": asdict(c.figures), "requests": [r.as_dict() for r in c.records]} for c in cells
        ],
    }
    path.write_text(json.dumps(document, indent=1, default=list) + "\n", encoding="utf-8")


def write_chart(
    path: Path,
    cells: Sequence[Cell],
    *,
    title: str,
    expected: Callable[[CellFigures], dict[str, float]] | None = None,
) -> None:
    """Throughput and p50 ms/token against concurrent users (log scale), one line per input size; the article's
    figures dashed; the stand-in's analytic values dotted when given."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable(MISSING_CHART_LIBRARY) from None

    words, users, grid = _grid(cells)
    output_tokens = cells[0].figures.output_tokens if cells else 0  # the article's figures are for 128
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=90)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = (
        (left, "throughput (tokens/s)", lambda f: f.throughput_tps, ARTICLE_THROUGHPUT, "throughput_tps"),
        (right, "p50 latency (ms/token)", lambda f: f.ms_per_token_p50, ARTICLE_MS_PER_TOKEN, "ms_per_token"),
    )
    for axis, label, read, article, key in panels:
        for index, count in enumerate(words):
            color = colors[index % len(colors)]
            points = [
                (u, read(grid[(count, u)]))
                for u in users
                if (count, u) in grid
                and grid[(count, u)].state == MEASURED
                and read(grid[(count, u)]) is not None
            ]
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", color=color, label=f"{count} words")
            timeouts = [u for u in users if (count, u) in grid and grid[(count, u)].state == TIMED_OUT]
            if timeouts and points:
                axis.plot(timeouts[:1], [points[-1][1]], marker="x", markersize=10, color=color, linestyle="")
            if count in article and output_tokens == 128:
                reference = [
                    (u, v)
                    for u, v in zip(ARTICLE_USERS, article[count], strict=True)
                    if v is not None and min(users) <= u <= max(users)
                ]
                if reference:
                    axis.plot(
                        *zip(*reference, strict=True),
                        linestyle="--",
                        color=color,
                        alpha=0.6,
                        label=f"{count} words, launch article (g5.2xlarge)",
                    )
            if expected is not None:
                model = [
                    (u, expected(grid[(count, u)])[key])
                    for u in users
                    if (count, u) in grid and grid[(count, u)].state == MEASURED
                ]
                if model:
                    axis.plot(*zip(*model, strict=True), linestyle=":", color=color, alpha=0.9)
        axis.set_xscale("log", base=2)
        axis.set_xticks(users, [str(u) for u in users])
        axis.set_xlabel("concurrent users")
        axis.set_ylabel(label)
        axis.grid(True, which="major", alpha=0.3)
    left.legend(fontsize=7, loc="upper left")
    note = "solid: measured; dashed: launch article; x: timeouts from here on"
    if expected is not None:
        note += "; dotted: stand-in's analytic values"
    figure.suptitle(title, fontsize=10)
    figure.text(0.5, 0.01, note, ha="center", fontsize=8)
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    figure.savefig(path, format="png")
    plt.close(figure)


def write_results(
    folder: Path,
    cells: Sequence[Cell],
    config: SweepConfig,
    *,
    target: str,
    model: str,
    instance: str,
    chart: bool = True,
    expected: Callable[[CellFigures], dict[str, float]] | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """results.md, results.csv, requests.json and (unless ``chart`` is false) chart.png in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    started = (meta or {}).get("started") or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    paths = {
        "table": folder / "results.md",
        "csv": folder / "results.csv",
        "json": folder / "requests.json",
    }
    paths["table"].write_text(
        markdown(
            cells, config, target=target, model=model, instance=instance, started=started, expected=expected
        ),
        encoding="utf-8",
    )
    write_csv(paths["csv"], cells, expected)
    write_json(
        paths["json"],
        cells,
        config,
        {
            "tool": "mistral-bench",
            "target": target,
            "model": model,
            "instance": instance,
            "started": started,
            **(meta or {}),
        },
    )
    if chart:
        paths["chart"] = folder / "chart.png"
        write_chart(
            paths["chart"], cells, title=f"mistral-bench: {model} on {instance} ({target})", expected=expected
        )
    return paths
