"""Fields the proxy does not know: null means "not set" and is dropped before the model; a value is refused.

TGI 1.1 ignores fields it does not know, and newer TGI clients (huggingface_hub's ``text_generation``, the
``text-generation`` package) send every parameter they know, with null for the unset ones. The same rule holds on
every route, at every level (body, ``parameters``, a message, ``stream_options``), buffered and streamed.

Buffered tests go through the function URL adapter with a Stubber: without a queued answer a call to SageMaker
would be a 500, so a 400 also proves the model was not called. Streamed tests go through the proxy's HTTP app
(as behind the Lambda Web Adapter) and a loopback SageMaker runtime that records what it was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from proxy_helpers import Call, make_config, queue_answer, url_event
from sse_client import SseResponse

from mistral_client.standin import StandIn, proxy_app, tokens_script

# What a newer client sends for a plain request: every parameter it knows, null when unset. The unknown ones
# (to TGI 1.1 and to this proxy) are frequency_penalty, grammar and adapter_id.
NEWER_CLIENT_PARAMETERS: dict[str, Any] = {
    "adapter_id": None,
    "best_of": None,
    "decoder_input_details": False,
    "details": True,
    "do_sample": False,
    "frequency_penalty": None,
    "grammar": None,
    "max_new_tokens": 20,
    "repetition_penalty": None,
    "return_full_text": None,
    "seed": None,
    "stop": [],
    "temperature": None,
    "top_k": None,
    "top_n_tokens": None,
    "top_p": None,
    "truncate": None,
    "typical_p": None,
    "watermark": False,
}
UNKNOWN_TO_TGI_1_1 = ("adapter_id", "frequency_penalty", "grammar")
# OpenAI fields the proxy does not implement, as OpenAI-compatible clients send them when unset.
OPENAI_UNSET = {
    "frequency_penalty": None,
    "presence_penalty": None,
    "logit_bias": None,
    "logprobs": None,
    "top_logprobs": None,
    "response_format": None,
    "tools": None,
    "tool_choice": None,
    "user": None,
}
MESSAGES = [{"role": "user", "content": "Hi"}]

# One request per route, each carrying unknown nulls at every level that route has.
ROUTES_WITH_UNKNOWN_NULLS: dict[str, dict[str, Any]] = {
    "/generate": {"inputs": "Hi", "parameters": NEWER_CLIENT_PARAMETERS, "options": None},
    "/chat": {
        "messages": [{"role": "user", "content": "Hi", "tool_calls": None}],
        "parameters": {**NEWER_CLIENT_PARAMETERS, "return_full_text": None},
        "options": None,
    },
    "/v1/chat/completions": {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi", "tool_calls": None, "name": None}],
        **OPENAI_UNSET,
    },
}
# Where a value instead of null is refused: (route, body, the param the 400 names).
UNKNOWN_WITH_A_VALUE = [
    ("/generate", {"inputs": "Hi", "parameters": {"frequency_penalty": 0.5}}, "parameters.frequency_penalty"),
    (
        "/generate",
        {"inputs": "Hi", "parameters": {"grammar": {"type": "regex", "value": "a+"}}},
        "parameters.grammar",
    ),
    ("/generate", {"inputs": "Hi", "options": {"wait_for_model": True}}, "options"),
    ("/chat", {"messages": MESSAGES, "parameters": {"adapter_id": "x"}}, "parameters.adapter_id"),
    ("/chat", {"messages": [{"role": "user", "content": "Hi", "tool_calls": []}]}, "messages[0].tool_calls"),
    ("/v1/chat/completions", {"messages": MESSAGES, "presence_penalty": 0.1}, "presence_penalty"),
    ("/v1/chat/completions", {"messages": MESSAGES, "user": "alice"}, "user"),
]


def assert_no_unknown_field(sent: dict[str, Any]) -> None:
    assert set(sent) <= {"inputs", "parameters", "stream"}, sent
    assert not set(sent["parameters"]) & {*UNKNOWN_TO_TGI_1_1, *OPENAI_UNSET}, sent["parameters"]
    assert None not in sent["parameters"].values(), sent["parameters"]


# --- buffered ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", sorted(ROUTES_WITH_UNKNOWN_NULLS))
def test_unknown_fields_sent_as_null_are_served(call: Call, stubber: Stubber, route: str) -> None:
    queue_answer(stubber)
    status, body, _ = call(url_event(path=route, body=ROUTES_WITH_UNKNOWN_NULLS[route]))
    assert status == 200, body


@pytest.mark.parametrize("route", sorted(ROUTES_WITH_UNKNOWN_NULLS))
def test_unknown_fields_sent_as_null_never_reach_the_model(call: Call, stubber: Stubber, route: str) -> None:
    sent = queue_answer(stubber)
    call(url_event(path=route, body=ROUTES_WITH_UNKNOWN_NULLS[route]))
    assert_no_unknown_field(sent.json)


def test_a_newer_clients_request_reaches_the_model_as_tgi_1_1_reads_it(call: Call, stubber: Stubber) -> None:
    sent = queue_answer(stubber)
    call(url_event(body={"inputs": "Hi", "parameters": NEWER_CLIENT_PARAMETERS, "stream": False}))
    assert sent.json == {
        "inputs": "Hi",
        "parameters": {
            "decoder_input_details": False,
            "details": True,
            "do_sample": False,
            "max_new_tokens": 20,
            "stop": [],
            "watermark": False,
        },
    }


@pytest.mark.parametrize(("route", "body", "param"), UNKNOWN_WITH_A_VALUE)
def test_an_unknown_field_with_a_value_is_refused_by_name(
    call: Call, stubber: Stubber, route: str, body: dict[str, Any], param: str
) -> None:
    status, answer, _ = call(url_event(path=route, body=body))
    assert status == 400, answer
    assert answer["error"]["param"] == param
    assert repr(param.rsplit(".", 1)[-1]) in answer["error"]["message"]


def test_the_refusal_says_that_null_would_be_accepted(call: Call, stubber: Stubber) -> None:
    _, answer, _ = call(url_event(body={"inputs": "Hi", "parameters": {"frequency_penalty": 0.5}}))
    assert "accepted only as null" in answer["error"]["message"]


def test_a_misspelled_parameter_is_refused_with_the_nearest_name(call: Call, stubber: Stubber) -> None:
    _, answer, _ = call(url_event(body={"inputs": "Hi", "parameters": {"temprature": 0.5}}))
    assert (answer["error"]["param"], "Did you mean 'temperature'?" in answer["error"]["message"]) == (
        "parameters.temprature",
        True,
    )


def test_a_known_parameter_that_tgi_refuses_as_null_is_still_refused(call: Call, stubber: Stubber) -> None:
    # Only unknown fields are dropped: a known one keeps TGI 1.1's own rule (do_sample is a bool, not Option).
    status, answer, _ = call(url_event(body={"inputs": "Hi", "parameters": {"do_sample": None}}))
    assert (status, answer["error"]["param"]) == (400, "parameters.do_sample")


def test_an_unknown_stream_option_sent_as_null_is_dropped(call: Call, stubber: Stubber) -> None:
    # stream_options is only allowed with stream true, which this buffered adapter refuses: the 400 names
    # stream, so the unknown null option passed validation.
    body = {
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": None, "chunk_size": None},
    }
    status, answer, _ = call(url_event(path="/v1/chat/completions", body=body))
    assert (status, answer["error"]["param"]) == (400, "stream")


# --- streamed ---------------------------------------------------------------------------------------------


@pytest.fixture
def app(sagemaker: StandIn) -> Iterator[str]:
    with proxy_app(make_config()) as url:
        yield url


def streamed(app: str, route: str, body: dict[str, Any]) -> tuple[int, list[Any]]:
    response = SseResponse(app, route, {**body, "stream": True})
    try:
        if response.status != 200:
            return response.status, [response.body()]
        return response.status, response.json_events()
    finally:
        response.close()


@pytest.mark.parametrize("route", sorted(ROUTES_WITH_UNKNOWN_NULLS))
def test_a_streamed_request_with_unknown_nulls_is_streamed(app: str, sagemaker: StandIn, route: str) -> None:
    sagemaker.stream(*tokens_script(["Hel", "lo"]))
    status, events = streamed(app, route, ROUTES_WITH_UNKNOWN_NULLS[route])
    assert status == 200, events
    assert len(events) >= 2


@pytest.mark.parametrize("route", sorted(ROUTES_WITH_UNKNOWN_NULLS))
def test_a_streamed_request_sends_the_model_no_unknown_field(
    app: str, sagemaker: StandIn, route: str
) -> None:
    sagemaker.stream(*tokens_script(["Hi"]))
    streamed(app, route, ROUTES_WITH_UNKNOWN_NULLS[route])
    sent = sagemaker.requests[0].json()
    assert sent["stream"] is True
    assert_no_unknown_field(sent)


def test_stream_options_with_unknown_nulls_stream_without_usage(app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hi"]))
    body = {"messages": MESSAGES, "stream_options": {"include_usage": None, "chunk_size": None}}
    status, events = streamed(app, "/v1/chat/completions", body)
    assert status == 200, events
    assert events[-1] == "[DONE]"
    assert all("usage" not in event for event in events[:-1])


@pytest.mark.parametrize(("route", "body", "param"), UNKNOWN_WITH_A_VALUE)
def test_a_streamed_request_with_an_unknown_value_is_refused_before_the_model(
    app: str, sagemaker: StandIn, route: str, body: dict[str, Any], param: str
) -> None:
    status, events = streamed(app, route, body)
    assert (status, events[0]["error"]["param"]) == (400, param)
    assert sagemaker.requests == []
