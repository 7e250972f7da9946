"""Waiting for a model that scales up from zero: retries on 503 model_scaling_up, with progress, up to --wait."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from cli_helpers import FunctionUrl

from mistral_client import cli
from mistral_client.errors import CliError
from mistral_client.transport import HttpAnswer
from mistral_client.waiting import duration, parse_wait, scaling_up_delay, with_wake_wait

SCALING_UP_BODY = (
    b'{"error": {"type": "model_scaling_up", "message": "The model is starting from zero instances (it scales '
    b'in to zero when idle); this takes about 5-10 minutes."}, "request_id": "r-1"}'
)


class FakeTime:
    """A clock that only moves when something sleeps (or a request takes time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scaling_up(retry_after: str | None = "60") -> HttpAnswer:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return HttpAnswer(503, headers, SCALING_UP_BODY)


OK = HttpAnswer(200, {}, b'{"generated_text": "Paris."}')


def sender(
    answers: list[HttpAnswer], fake: FakeTime, request_seconds: float = 0.0
) -> Callable[[], HttpAnswer]:
    def send() -> HttpAnswer:
        fake.now += request_seconds
        return answers.pop(0)

    return send


def wait(
    answers: list[HttpAnswer], fake: FakeTime, wait_seconds: float = 900, request_seconds: float = 0.0
) -> tuple[HttpAnswer, list[str]]:
    lines: list[str] = []
    answer = with_wake_wait(
        sender(answers, fake, request_seconds),
        wait_seconds=wait_seconds,
        clock=fake.clock,
        sleep=fake.sleep,
        progress=lines.append,
        describe=lambda a: f"{a.status} model_scaling_up",
    )
    return answer, lines


# --- the wait itself ---------------------------------------------------------------------------------------


def test_an_answer_that_is_not_scaling_up_is_returned_at_once() -> None:
    fake = FakeTime()
    answer, lines = wait([OK], fake)
    assert (answer, lines, fake.sleeps) == (OK, [], [])


def test_scaling_up_is_retried_after_retry_after_until_the_model_answers() -> None:
    fake = FakeTime()
    answer, _ = wait([scaling_up("60"), scaling_up("60"), OK], fake)
    assert answer == OK
    assert fake.sleeps == [60, 60]


def test_progress_says_what_it_waits_for_how_long_and_the_next_try() -> None:
    fake = FakeTime()
    _, lines = wait([scaling_up("60"), scaling_up("60"), scaling_up("60"), OK], fake, request_seconds=10)
    assert lines == [
        "The model is scaling up from zero instances (the proxy expects about 5-10 minutes); "
        "waiting up to 15m0s (--wait), Ctrl-C stops.",
        "model scaling up from zero: waited 10s of 15m0s, next try in 1m0s",
        "model scaling up from zero: waited 1m20s of 15m0s, next try in 1m0s",
        "model scaling up from zero: waited 2m30s of 15m0s, next try in 1m0s",
        "model answered after 3m40s",
    ]


def test_it_gives_up_at_the_deadline_with_a_clear_message() -> None:
    fake = FakeTime()
    with pytest.raises(CliError) as raised:
        wait([scaling_up("60")] * 20, fake, wait_seconds=150)
    assert str(raised.value) == (
        "The model was still scaling up from zero after 2m30s (--wait 2m30s): 503 model_scaling_up. "
        "It keeps starting: try again in a few minutes, or wait longer with --wait 30m."
    )


def test_the_last_wait_is_cut_to_the_deadline_and_one_last_try_is_made() -> None:
    fake = FakeTime()
    answers = [scaling_up("60"), scaling_up("60"), scaling_up("60"), OK]
    answer, _ = wait(answers, fake, wait_seconds=150)
    assert fake.sleeps == [60, 60, 30]
    assert answer == OK


def test_wait_zero_returns_the_scaling_up_answer_without_waiting() -> None:
    fake = FakeTime()
    answer, lines = wait([scaling_up()], fake, wait_seconds=0)
    assert (answer.status, lines, fake.sleeps) == (503, [], [])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("60", 60.0),
        ("1", 5.0),
        ("3600", 120.0),
        (None, 30.0),
        ("Fri, 27 Nov 2026 18:00:00 GMT", 30.0),
        ("nan", 30.0),
    ],
)
def test_retry_after_is_honoured_within_bounds(header: str | None, expected: float) -> None:
    assert scaling_up_delay(scaling_up(header)) == expected


def test_other_503s_are_not_waited_for() -> None:
    not_ready = HttpAnswer(
        503, {"Retry-After": "30"}, b'{"error": {"type": "model_not_ready", "message": "x"}}'
    )
    assert scaling_up_delay(not_ready) is None
    assert scaling_up_delay(HttpAnswer(503, {}, b"<html>Service Unavailable</html>")) is None
    assert scaling_up_delay(OK) is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("900", 900), ("90s", 90), ("15m", 900), ("1h", 3600), ("0", 0), ("2.5m", 150)]
)
def test_wait_accepts_seconds_or_a_duration(text: str, seconds: float) -> None:
    assert parse_wait(text) == seconds


@pytest.mark.parametrize("text", ["-1", "soon", "15 minutes", ""])
def test_wait_refuses_anything_else(text: str) -> None:
    with pytest.raises(Exception, match="use seconds or a duration"):
        parse_wait(text)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.2, "1m0s"), (130, "2m10s"), (3900, "1h5m0s")])
def test_durations_read_like_the_progress_line(seconds: float, text: str) -> None:
    assert duration(seconds) == text


# --- through the commands ----------------------------------------------------------------------------------


def run_with_fake_time(fake: FakeTime, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err, clock=fake.clock, sleep=fake.sleep
    )
    return code, out.getvalue(), err.getvalue()


def answer_scaling_up(function_url: FunctionUrl, times: int) -> None:
    for _ in range(times):
        function_url.answers.append(
            (503, {"Content-Type": "application/json", "Retry-After": "60"}, SCALING_UP_BODY)
        )


def test_generate_waits_for_the_model_and_prints_its_answer(function_url: FunctionUrl) -> None:
    fake = FakeTime()
    answer_scaling_up(function_url, 2)
    function_url.answer(200, {"generated_text": " Paris."})
    code, out, err = run_with_fake_time(
        fake, "--url", function_url.url, "--region", "us-east-1", "generate", "Hi"
    )
    assert (code, out) == (0, " Paris.\n")
    assert "model scaling up from zero: waited 0s of 15m0s, next try in 1m0s" in err
    assert "model answered after 2m0s" in err
    assert len(function_url.requests) == 3
    assert all(r.json() == function_url.requests[0].json() for r in function_url.requests)


def test_chat_waits_too_and_keeps_one_history_turn(function_url: FunctionUrl) -> None:
    fake = FakeTime()
    answer_scaling_up(function_url, 1)
    function_url.answer(200, {"message": {"role": "assistant", "content": "Bonjour"}})
    code, out, _ = run_with_fake_time(
        fake, "--url", function_url.url, "--region", "us-east-1", "chat", "-m", "Hi"
    )
    assert (code, out) == (0, "Bonjour\n")
    assert fake.sleeps == [60]


def test_the_command_gives_up_after_wait_with_exit_1(function_url: FunctionUrl) -> None:
    fake = FakeTime()
    answer_scaling_up(function_url, 3)
    code, out, err = run_with_fake_time(
        fake, "--url", function_url.url, "--region", "us-east-1", "--wait", "2m", "generate", "Hi"
    )
    assert (code, out) == (1, "")
    assert (
        "error: The model was still scaling up from zero after 2m0s (--wait 2m0s): 503 model_scaling_up: "
        in err
    )
    assert "[request id r-1]; retry after 60 s. It keeps starting" in err
    assert "Traceback" not in err


def test_wait_zero_fails_at_once_with_the_proxys_message(function_url: FunctionUrl) -> None:
    fake = FakeTime()
    answer_scaling_up(function_url, 1)
    code, _, err = run_with_fake_time(
        fake, "--url", function_url.url, "--region", "us-east-1", "health", "--wait", "0"
    )
    assert code == 1
    assert "503 model_scaling_up: The model is starting from zero instances" in err
    assert fake.sleeps == []
