"""The sweep against the stand-in: closed-loop users, warm-up, caps, timeouts ending a sweep, short answers."""

from __future__ import annotations

import io
import itertools

from conftest import FAST, StandInFactory, target_for

from mistral_client.bench.stats import MEASURED, SKIPPED, TIMED_OUT
from mistral_client.bench.sweep import Progress, SweepConfig, run_cell, run_sweep
from mistral_client.standin import StandIn, TimingModel

QUICK = SweepConfig(users=(1, 2), input_words=(16,), output_tokens=4, requests_per_user=2, warmup=1)


def test_each_user_sends_warm_up_then_the_measured_requests(stand_in: StandIn) -> None:
    cell = run_cell(target_for(stand_in), QUICK, users=3, input_words=16)
    assert len(cell.records) == 9
    assert sorted(r.sequence for r in cell.records if r.warmup) == [0, 0, 0]
    assert cell.figures.requests == 6
    assert cell.figures.ok == 6
    assert len(stand_in.requests) == 9


def test_users_send_their_next_request_only_when_the_last_one_ended(stand_in: StandIn) -> None:
    cell = run_cell(target_for(stand_in), QUICK, users=2, input_words=16)
    for user in (0, 1):
        mine = sorted((r for r in cell.records if r.user == user), key=lambda r: r.sequence)
        assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(mine))


def test_a_duration_bounds_the_cell_instead_of_a_request_count(stand_in: StandIn) -> None:
    config = SweepConfig(output_tokens=4, requests_per_user=None, duration_s=0.2, warmup=1)
    cell = run_cell(target_for(stand_in), config, users=2, input_words=16)
    assert cell.figures.requests >= 2
    assert all(r.start_s < 0.2 for r in cell.records if not r.warmup)


def test_users_above_the_concurrency_cap_get_tgis_429_counted_as_such(
    stand_in_factory: StandInFactory,
) -> None:
    stand_in = stand_in_factory(
        TimingModel(prefill_base_s=0.05, token_base_s=0.01, max_concurrent_requests=2)
    )
    config = SweepConfig(output_tokens=4, requests_per_user=1, warmup=0, wait_after_429_s=0.0)
    cell = run_cell(target_for(stand_in), config, users=4, input_words=16)
    assert cell.figures.errors_429 >= 1
    assert cell.figures.ok >= 2
    assert cell.figures.errors_429 + cell.figures.ok == 4
    assert any("429" in message for message in cell.figures.errors_by_message)


def test_model_failures_are_counted_as_5xx(stand_in_factory: StandInFactory) -> None:
    stand_in = stand_in_factory(FAST, fail_every=2)
    cell = run_cell(target_for(stand_in), QUICK, users=1, input_words=16)
    assert cell.figures.errors_5xx == 1
    assert cell.figures.ok == 1


def test_short_generations_are_reported_from_details(stand_in_factory: StandInFactory) -> None:
    stand_in = stand_in_factory(FAST, short_every=2)
    for stream in (False, True):
        config = SweepConfig(output_tokens=8, requests_per_user=4, warmup=0, stream=stream)
        cell = run_cell(target_for(stand_in), config, users=1, input_words=16)
        assert cell.figures.short == 2
        assert sorted(r.generated_tokens or 0 for r in cell.records) == [4, 4, 8, 8]
        assert {r.finish_reason for r in cell.records if r.generated_tokens == 4} == {"eos_token"}


def test_a_cell_where_every_request_times_out_ends_that_input_sizes_sweep(
    stand_in_factory: StandInFactory,
) -> None:
    # 1 word: quick; 1000 words: prefill alone outlives the container limit.
    model = TimingModel(
        prefill_base_s=0.001,
        prefill_per_kword_s=0.3,
        token_base_s=0.001,
        token_per_kword_s=0.0,
        container_timeout_s=0.1,
    )
    stand_in = stand_in_factory(model)
    config = SweepConfig(
        users=(1, 2, 4), input_words=(1, 1000), output_tokens=2, requests_per_user=1, warmup=0
    )
    cells = run_sweep(target_for(stand_in), config)
    states = {(c.figures.input_words, c.figures.users): c.figures.state for c in cells}
    assert states == {
        (1, 1): MEASURED,
        (1, 2): MEASURED,
        (1, 4): MEASURED,
        (1000, 1): TIMED_OUT,
        (1000, 2): SKIPPED,
        (1000, 4): SKIPPED,
    }
    assert all(not c.records for c in cells if c.figures.state == SKIPPED)


def test_progress_shows_cell_elapsed_time_requests_done_and_errors(stand_in: StandIn) -> None:
    stream = io.StringIO()
    run_sweep(target_for(stand_in), QUICK, progress=Progress(stream, interval_s=0.0))
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("cell 2/2: 16 words x 2 users |")
    assert lines[-1].endswith("| 6 requests done | 0 errors")
    assert " s |" in lines[-1]
