"""``mistral-invoke chat`` and ``generate`` stream by default: tokens are printed as they arrive, through the
proxy's real HTTP app (the streaming function's, and ``serve``'s) on loopback, its SageMaker runtime a stand-in
that speaks event-stream framing."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cli_helpers import FunctionUrl, Run, serve_subprocess

from invoke_proxy.config import load_config
from mistral_client import cli, eventstream, transport
from mistral_client.standin import StandIn, proxy_app, sse_bytes, tokens_script


@pytest.fixture
def app(sagemaker: StandIn) -> Iterator[str]:
    with proxy_app(load_config({"ENDPOINT_NAME": "ep", "AWS_REGION": "us-east-1"})) as url:
        yield f"{url}/"


class Terminal(io.StringIO):
    """Standard output that notes, at each write, whether the model had finished generating."""

    def __init__(self, sagemaker: StandIn, release: threading.Event) -> None:
        super().__init__()
        self.sagemaker = sagemaker
        self.release = release
        self.model_done_at_first_token: bool | None = None

    def write(self, text: str) -> int:
        if text.strip() and self.model_done_at_first_token is None:
            self.model_done_at_first_token = self.sagemaker.finished.is_set()
            self.release.set()
        return super().write(text)


def test_generate_prints_each_token_while_the_model_is_still_generating(app: str, sagemaker: StandIn) -> None:
    release = threading.Event()
    first, second = tokens_script([" Par", "is."])
    sagemaker.stream(first, release, second)
    out = Terminal(sagemaker, release)
    code = cli.main(["--url", app, "generate", "The capital of France is"], stdout=out, stderr=io.StringIO())
    assert (code, out.getvalue()) == (0, " Paris.\n")
    assert out.model_done_at_first_token is False


def test_generate_streams_by_default(run: Run, app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" Par", "is."]))
    code, out, err = run("--url", app, "generate", "The capital of France is")
    assert (code, out) == (0, " Paris.\n"), err
    assert sagemaker.requests[0].path.endswith("/invocations-response-stream")


def test_generate_with_json_prints_one_event_per_line(run: Run, app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" Par", "is."]))
    _, out, _ = run("--url", app, "--json", "generate", "Hi")
    assert [json.loads(line)["token"]["text"] for line in out.splitlines()] == [" Par", "is."]


def test_chat_streams_the_answer_and_keeps_it_in_the_history(run: Run, app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Bon", "jour !"]))
    sagemaker.stream(*tokens_script(["Ça", " va."]))
    code, out, _ = run("--url", app, "chat", stdin="Hi\nHow are you?\n")
    assert (code, out) == (0, "Bonjour !\nÇa va.\n")
    assert "[/INST]Bonjour !</s>[INST] How are you? [/INST]" in sagemaker.requests[1].json()["inputs"]


def test_a_failure_mid_answer_is_an_error_after_the_tokens_received(
    run: Run, app: str, sagemaker: StandIn
) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    code, out, err = run("--url", app, "generate", "Hi")
    assert (code, out) == (1, " Par\n")
    assert "upstream_error" in err and "broke off" in err


def test_a_failed_streamed_chat_turn_stays_out_of_the_history(run: Run, app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script(["Bon", "jour"])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    sagemaker.stream(*tokens_script(["Oui."]))
    run("--url", app, "chat", stdin="Hi\nHi again\n")
    assert sagemaker.requests[1].json()["inputs"] == "<s>[INST] Hi again [/INST]"


def test_no_stream_waits_for_the_whole_answer(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": " Paris."})
    code, out, _ = run("--url", function_url.url, "generate", "Hi", "--no-stream")
    assert (code, out) == (0, " Paris.\n")
    assert "stream" not in function_url.requests[0].json()


def test_a_proxy_that_cannot_stream_is_called_again_buffered(run: Run, function_url: FunctionUrl) -> None:
    refusal = {
        "error": {"type": "invalid_request_error", "message": "no", "param": "stream"},
        "request_id": "r",
    }
    function_url.answer(400, refusal)
    function_url.answer(200, {"message": {"role": "assistant", "content": "Bonjour"}})
    function_url.answer(200, {"message": {"role": "assistant", "content": "Oui"}})
    code, out, _ = run("--url", function_url.url, "chat", stdin="Hi\nAgain\n")
    assert (code, out) == (0, "Bonjour\nOui\n")
    assert [r.json().get("stream") for r in function_url.requests] == [True, None, None]


class Dribble:
    """A response that hands out its body a few bytes per read."""

    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    def read1(self, _: int) -> bytes:
        piece, self.body = self.body[: self.size], self.body[self.size :]
        return piece


@pytest.mark.parametrize("size", [1, 2, 7])
def test_events_split_across_reads_are_parsed_whole(size: int) -> None:
    body = (
        sse_bytes({"token": {"text": "é"}}).replace(b"\n", b"\r\n") + b": comment\n\n" + b"data: [DONE]\n\n"
    )
    assert list(transport.read_events(Dribble(body, size))) == [{"token": {"text": "é"}}]


@pytest.fixture
def served(sagemaker: StandIn) -> Iterator[str]:
    """``mistral-invoke serve`` in a subprocess, its SageMaker runtime the streaming stand-in."""
    with serve_subprocess(sagemaker.url, stderr=subprocess.DEVNULL) as (url, _):
        yield url


def test_serve_streams(run: Run, served: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script([" Par", "is."]))
    code, out, err = run("--url", served, "generate", "The capital of France is")
    assert (code, out) == (0, " Paris.\n"), err
    assert sagemaker.requests[0].path == "/endpoints/dev-ep/invocations-response-stream"


def test_serve_logs_each_request_as_one_json_line(sagemaker: StandIn) -> None:
    # The serve subprocess writes JSON log lines on stderr with the streamed request's fields.
    with serve_subprocess(sagemaker.url) as (url, process):
        assert process.stderr is not None
        sagemaker.stream(*tokens_script([" a", " b"]))
        assert cli.main(["--url", url, "generate", "Hi"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
        line: dict[str, Any] = json.loads(process.stderr.readline())
        assert (line["message"], line["streamed"], line["completion_tokens"]) == ("request", True, 2)


def test_a_streamed_call_waits_while_the_model_scales_up_from_zero(app: str, sagemaker: StandIn) -> None:
    from test_cli_wake import FakeTime
    from test_cli_wake_end_to_end import NO_CAPACITY

    sagemaker.error(
        400, "ValidationError", {"message": NO_CAPACITY}
    )  # before the first byte: the proxy's 503
    sagemaker.stream(*tokens_script([" Par", "is."]))
    fake, out, err = FakeTime(), io.StringIO(), io.StringIO()
    argv = ["--url", app, "generate", "The capital of France is"]
    code = cli.main(argv, stdin=io.StringIO(), stdout=out, stderr=err, clock=fake.clock, sleep=fake.sleep)
    assert (code, out.getvalue()) == (0, " Paris.\n"), err.getvalue()
    assert fake.sleeps == [60]  # the proxy's Retry-After
    assert [r.path.rsplit("/", 1)[1] for r in sagemaker.requests] == ["invocations-response-stream"] * 2
