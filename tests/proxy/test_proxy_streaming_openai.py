"""The OpenAI route streamed: ``chat.completion.chunk`` events and ``[DONE]``, read by the OpenAI Python client
itself (``stream=True``) over real HTTP through the proxy's HTTP app, its SageMaker runtime a loopback stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from proxy_helpers import make_config
from sse_client import SseResponse

from mistral_client import eventstream
from mistral_client.standin import StandIn, proxy_app, tokens_script

openai = pytest.importorskip("openai")

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def app(sagemaker: StandIn) -> Iterator[str]:
    with proxy_app(make_config()) as url:
        yield url


@pytest.fixture
def client(app: str) -> Any:
    return openai.OpenAI(base_url=f"{app}/v1", api_key="unused", max_retries=0, timeout=15)


def raw_events(app: str, **body: Any) -> list[Any]:
    response = SseResponse(
        app, "/v1/chat/completions", {"model": "m", "messages": MESSAGES, "stream": True, **body}
    )
    try:
        return response.json_events()
    finally:
        response.close()


def test_the_openai_client_streams_the_answer_in_order(client: Any, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hello", " there", "!"]))
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there!"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {c.object for c in chunks} == {"chat.completion.chunk"}


def test_each_token_is_its_own_chunk(client: Any, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hello", " there", "!"]))
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert [c.choices[0].delta.content for c in chunks] == ["", "Hello", " there", "!", None]


def test_the_stream_ends_with_done(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hi"]))
    assert raw_events(app)[-1] == "[DONE]"


def test_include_usage_adds_a_usage_chunk_before_done(client: Any, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["a", "b", "c"], finish_reason="length"))
    chunks = list(
        client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    assert (chunks[-1].choices, chunks[-1].usage.completion_tokens) == ([], 3)
    assert chunks[-2].choices[0].finish_reason == "length"
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_without_include_usage_no_chunk_has_usage(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hi"]))
    assert all("usage" not in event for event in raw_events(app)[:-1])


def test_a_stop_sequence_never_reaches_the_deltas(client: Any, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Bonjour", " !", "\n", "\n"], finish_reason="stop_sequence"))
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True, stop=["\n\n"]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Bonjour !"


def test_a_failure_mid_answer_raises_in_the_openai_client(client: Any, sagemaker: StandIn) -> None:
    first, _ = tokens_script(["Hello", " there"])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    received: list[Any] = []
    with pytest.raises(openai.APIError, match="stream of the answer broke"):
        received.extend(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert received  # the chunks before the failure arrived


def test_a_mid_stream_error_event_is_not_followed_by_done(app: str, sagemaker: StandIn) -> None:
    first, _ = tokens_script(["Hello", " there"])
    sagemaker.stream(first, eventstream.internal_stream_failure("boom"))
    events = raw_events(app)
    assert events[-1]["error"]["type"] == "upstream_error" and "[DONE]" not in events


def test_stream_options_without_stream_is_a_400(client: Any, sagemaker: StandIn) -> None:
    with pytest.raises(openai.BadRequestError, match="stream_options"):
        client.chat.completions.create(model="m", messages=MESSAGES, stream_options={"include_usage": True})
    assert sagemaker.requests == []


@pytest.mark.parametrize("options", [{"include_usage": "yes"}, {"other": True}, ["include_usage"]])
def test_invalid_stream_options_are_a_400(app: str, sagemaker: StandIn, options: Any) -> None:
    body = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": options}
    response = SseResponse(app, "/v1/chat/completions", body)
    try:
        assert (response.status, response.body()["error"]["param"].split(".")[0]) == (400, "stream_options")
    finally:
        response.close()
