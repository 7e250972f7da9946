"""The results folder: the article's table layout, a CSV with every figure, raw timings in JSON, a PNG chart."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mistral_client.bench import report
from mistral_client.bench.stats import SKIPPED, CellFigures, RequestRecord, summarize
from mistral_client.bench.sweep import Cell, SweepConfig

CONFIG = SweepConfig(users=(1, 2), input_words=(128, 6400), output_tokens=128, requests_per_user=1, warmup=0)


def cell(words: int, users: int, kind: str = "ok", tokens: int = 128, latency: float = 4.0) -> Cell:
    records = [
        RequestRecord(
            user=u,
            sequence=0,
            warmup=False,
            start_s=0.0,
            end_s=latency,
            kind=kind,
            generated_tokens=tokens if kind == "ok" else None,
            ttft_s=0.25 if kind == "ok" else None,
        )
        for u in range(users)
    ]
    return Cell(summarize(records, input_words=words, output_tokens=128, users=users), records)


CELLS = [
    cell(128, 1),
    cell(128, 2),
    cell(6400, 1, latency=8.0),
    cell(6400, 2, kind="timeout"),
]


def table_lines(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(f"**{title}**, by concurrent users")
    return lines[start + 2 : start + 6]


def test_the_markdown_table_has_the_articles_layout() -> None:
    text = report.markdown(
        CELLS,
        CONFIG,
        target="endpoint x",
        model="mistral-7b-instruct",
        instance="ml.g5.2xlarge",
        started="now",
    )
    assert table_lines(text, "throughput (tokens/s)") == [
        "| model | instance type | input words | output tokens | 1 | 2 |",
        "|---|---|---:|---:|---:|---:|",
        "| mistral-7b-instruct | ml.g5.2xlarge | 128 | 128 | 32 | 64 |",
        "|  |  | 6400 | 128 | 16 | timeout |",
    ]
    assert (
        table_lines(text, "p50 latency (ms/token)")[2]
        == "| mistral-7b-instruct | ml.g5.2xlarge | 128 | 128 | 31 | 31 |"
    )


def test_time_to_first_token_tables_appear_only_when_streaming() -> None:
    kwargs: dict[str, Any] = {"target": "t", "model": "m", "instance": "i", "started": "now"}
    assert "**p50 time to first token (ms)**" not in report.markdown(CELLS, CONFIG, **kwargs)
    streamed = report.markdown(CELLS, SweepConfig(**{**CONFIG.__dict__, "stream": True}), **kwargs)
    assert table_lines(streamed, "p50 time to first token (ms)")[2].endswith("| 250 | 250 |")


def test_skipped_cells_show_timeout_and_troubled_cells_are_flagged() -> None:
    skipped = Cell(CellFigures(input_words=6400, output_tokens=128, users=4, state=SKIPPED), [])
    mixed = [*CELLS[:1], cell(128, 2, tokens=100), skipped]
    text = report.markdown(mixed, CONFIG, target="t", model="m", instance="i", started="now")
    rows = table_lines(text, "throughput (tokens/s)")
    assert rows[2].endswith("| 32 | 50 † |  |")
    assert rows[3].endswith("|  |  | timeout |")
    assert "| 128 | 2 | 2 | 2 | 2 | 0 | 0 | 0 | 0 |" in text  # the short-generations row


def test_the_csv_holds_every_figure_of_every_cell(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    report.write_csv(path, CELLS, expected=None)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 4
    for column in (
        "throughput_tps",
        "requests_per_s",
        "ms_per_token_p50",
        "ms_per_token_p90",
        "ttft_ms_p50",
        "ttft_ms_p90",
        "errors_429",
        "errors_5xx",
        "timeouts",
        "errors_other",
        "short",
        "state",
    ):
        assert column in rows[0]
    assert float(rows[0]["throughput_tps"]) == 32.0
    assert rows[3]["state"] == "timeout"
    assert rows[3]["timeouts"] == "2"


def test_the_json_holds_the_raw_timings_of_every_request(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    report.write_json(path, CELLS, CONFIG, {"target": "t"})
    document = json.loads(path.read_text())
    assert document["config"]["output_tokens"] == 128
    first = document["cells"][0]["requests"][0]
    assert first["latency_s"] == 4.0
    assert {"user", "sequence", "warmup", "start_s", "end_s", "ttft_s", "generated_tokens", "kind"} <= set(
        first
    )
    assert sum(len(c["requests"]) for c in document["cells"]) == 6


def test_the_chart_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    report.write_chart(
        path, CELLS, title="test", expected=lambda f: {"throughput_tps": 1.0, "ms_per_token": 1.0}
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_the_chart_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(report.ChartUnavailable, match=r"pip install 'mistral-endpoint-client\[chart\]'"):
        report.write_chart(tmp_path / "chart.png", CELLS, title="test")


def test_write_results_writes_the_four_files(tmp_path: Path) -> None:
    paths = report.write_results(tmp_path / "out", CELLS, CONFIG, target="t", model="m", instance="i")
    assert sorted(p.name for p in paths.values()) == [
        "chart.png",
        "requests.json",
        "results.csv",
        "results.md",
    ]
    assert all(p.stat().st_size > 0 for p in paths.values())
