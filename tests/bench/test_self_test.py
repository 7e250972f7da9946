"""``mistral-bench self-test``: a short sweep against the stand-in agrees with its timing model within 10 %.

The tolerance check is the feature under test, so this is the one test here that asserts on timing.
"""

from __future__ import annotations

import io
from pathlib import Path

from mistral_client.bench import cli
from mistral_client.bench.stats import MEASURED, TIMED_OUT, CellFigures
from mistral_client.standin import TimingModel


def test_the_short_self_test_passes_and_writes_its_results(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["self-test", "--out", str(tmp_path), "--no-chart"], stdout=out, stderr=err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert "self-test passed: 4 cells within 10% of the timing model" in out.getvalue()
    assert "Measured against the stand-in's analytic values" in (tmp_path / "results.md").read_text()
    assert "expected_throughput_tps" in (tmp_path / "results.csv").read_text().splitlines()[0]


def figures(**values: object) -> CellFigures:
    base: dict[str, object] = {"input_words": 128, "output_tokens": 8, "users": 4, "state": MEASURED}
    base.update(values)
    return CellFigures(**base)  # type: ignore[arg-type]


def agreeing(model: TimingModel, **values: object) -> CellFigures:
    e = model.expected(4, 128, 8)
    return figures(
        throughput_tps=e.throughput_tps, ms_per_token_p50=e.ms_per_token, ttft_ms_p50=e.ttft_ms, **values
    )


def test_figures_within_ten_percent_of_the_model_pass() -> None:
    model = TimingModel()
    cell = agreeing(model)
    cell.throughput_tps = (cell.throughput_tps or 0) * 1.09
    assert cli.check_cell(cell, model) == []


def test_a_figure_beyond_ten_percent_of_the_model_fails_the_self_test() -> None:
    model = TimingModel()
    cell = agreeing(model)
    cell.ms_per_token_p50 = (cell.ms_per_token_p50 or 0) * 1.11
    (problem,) = cli.check_cell(cell, model)
    assert problem.startswith("128 words x 4 users: ms/token p50")


def test_a_cell_the_model_says_times_out_must_time_out() -> None:
    model = TimingModel(container_timeout_s=0.1)
    assert cli.check_cell(figures(state=TIMED_OUT), model) == []
    assert "expected every request to time out" in cli.check_cell(agreeing(model), model)[0]


def test_above_the_cap_429s_are_required_and_throughput_is_not_compared() -> None:
    model = TimingModel(max_concurrent_requests=2)
    e = model.expected(4, 128, 8)
    cell = figures(throughput_tps=1.0, ms_per_token_p50=e.ms_per_token, ttft_ms_p50=e.ttft_ms)
    assert cli.check_cell(cell, model) == [
        "128 words x 4 users: more users than the cap, but no 429 was counted"
    ]
    cell.errors_429 = 3
    assert cli.check_cell(cell, model) == []


def test_the_analytic_values_follow_the_timing_model() -> None:
    model = TimingModel(
        prefill_base_s=0.1,
        prefill_per_kword_s=0.05,
        token_base_s=0.02,
        token_per_request_s=0.001,
        token_per_kword_s=0.002,
        max_concurrent_requests=8,
    )
    e = model.expected(users=4, input_words=1000, output_tokens=11)
    step = 0.02 + 0.001 * 3 + 0.002 * 4
    assert abs(e.ttft_ms - 150.0) < 1e-9
    assert abs(e.request_s - (0.15 + 10 * step)) < 1e-9
    assert abs(e.throughput_tps - 4 * 11 / e.request_s) < 1e-9
    assert abs(e.ms_per_token - e.request_s / 11 * 1000) < 1e-9
    assert model.expected(users=16, input_words=1000, output_tokens=11).batch == 8
