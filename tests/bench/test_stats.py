"""The figures of a cell: percentiles, warm-up exclusion, throughput window, short generations, timeouts."""

from __future__ import annotations

import pytest

from mistral_client.bench.stats import MEASURED, TIMED_OUT, RequestRecord, percentile, summarize


def record(
    start: float, end: float, kind: str = "ok", tokens: int | None = 10, **fields: object
) -> RequestRecord:
    values: dict[str, object] = {"user": 0, "sequence": 1, "warmup": False, "ttft_s": None}
    values.update(fields)
    return RequestRecord(start_s=start, end_s=end, kind=kind, generated_tokens=tokens, **values)  # type: ignore[arg-type]


def test_percentiles_interpolate_between_closest_ranks() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == pytest.approx(91.0)
    assert percentile([7], 90) == 7
    assert percentile([], 50) is None


def test_throughput_is_generated_tokens_over_the_measured_window() -> None:
    figures = summarize([record(0.0, 1.0), record(0.5, 2.0)], input_words=128, output_tokens=10, users=2)
    assert figures.window_s == 2.0
    assert figures.throughput_tps == 10.0
    assert figures.requests_per_s == 1.0


def test_warm_up_requests_are_excluded_from_every_figure() -> None:
    figures = summarize(
        [record(0.0, 5.0, warmup=True, tokens=10), record(5.0, 6.0)],
        input_words=128,
        output_tokens=10,
        users=1,
    )
    assert (figures.requests, figures.warmup_requests) == (1, 1)
    assert figures.throughput_tps == 10.0
    assert figures.ms_per_token_p50 == 100.0


def test_latency_per_token_is_the_whole_latency_over_generated_tokens() -> None:
    figures = summarize(
        [record(0.0, 1.0, ttft_s=0.2), record(0.0, 2.0, ttft_s=0.4)],
        input_words=128,
        output_tokens=10,
        users=2,
    )
    assert figures.ms_per_token_p50 == 150.0
    assert figures.ttft_ms_p50 == pytest.approx(300.0)
    assert figures.ttft_ms_p90 == pytest.approx(380.0)


def test_short_generations_are_counted_and_left_out_of_per_token_figures_but_not_throughput() -> None:
    figures = summarize(
        [record(0.0, 1.0, tokens=10), record(0.0, 1.0, tokens=3, finish_reason="eos_token")],
        input_words=128,
        output_tokens=10,
        users=2,
    )
    assert figures.short == 1
    assert figures.ok == 2
    assert figures.generated_tokens == 13
    assert figures.ms_per_token_p50 == 100.0  # the full-length request only


def test_errors_are_counted_by_kind_with_their_messages() -> None:
    figures = summarize(
        [
            record(0.0, 1.0),
            record(0.0, 0.01, kind="429", tokens=None, message="overloaded"),
            record(0.0, 1.0, kind="5xx", tokens=None, message="CUDA error"),
            record(0.0, 1.0, kind="timeout", tokens=None, message="cut at 60 s"),
            record(0.0, 1.0, kind="other", tokens=None, message="422"),
        ],
        input_words=128,
        output_tokens=10,
        users=5,
    )
    counts = (figures.errors_429, figures.errors_5xx, figures.timeouts, figures.errors_other)
    assert counts == (1, 1, 1, 1)
    assert figures.errors == 4
    assert figures.errors_by_message["429: overloaded"] == 1


def test_a_429_does_not_stretch_the_window() -> None:
    figures = summarize(
        [record(0.0, 0.001, kind="429", tokens=None), record(1.0, 2.0)],
        input_words=128,
        output_tokens=10,
        users=2,
    )
    assert figures.window_s == 1.0


def test_a_cell_where_every_request_timed_out_is_a_timeout_cell() -> None:
    records = [record(0.0, 60.0, kind="timeout", tokens=None, warmup=w) for w in (True, False)]
    assert summarize(records, input_words=6400, output_tokens=128, users=16).state == TIMED_OUT


def test_one_success_among_timeouts_keeps_the_cell_measured() -> None:
    records = [record(0.0, 60.0, kind="timeout", tokens=None), record(0.0, 50.0)]
    assert summarize(records, input_words=6400, output_tokens=10, users=2).state == MEASURED
