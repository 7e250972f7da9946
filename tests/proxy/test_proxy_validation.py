"""Every validation rule answers a clear 4xx before any call to SageMaker.

The Stubber has no queued response in these tests: a call to SageMaker would raise inside the proxy and
turn into a 500, so a 4xx here also proves the endpoint was not called.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber
from proxy_helpers import Call, make_config, url_event

from invoke_proxy.config import MAX_REQUEST_BYTES
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event


def rejected(call: Call, event: dict[str, Any], status: int = 400) -> dict[str, Any]:
    got, body, _ = call(event)
    assert got == status, body
    assert set(body) == {"error", "request_id"}
    assert body["error"]["message"]
    return dict(body["error"])


def generate(parameters: dict[str, Any]) -> dict[str, Any]:
    return url_event(body={"inputs": "Hi", "parameters": parameters})


# --- the body -------------------------------------------------------------------------------------------


def test_empty_body_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "empty" in rejected(call, url_event(raw_body=""))["message"]


def test_missing_body_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "empty" in rejected(call, url_event())["message"]


def test_body_that_is_not_json_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "not valid JSON" in rejected(call, url_event(raw_body="{inputs: hi}"))["message"]


def test_body_that_is_not_utf8_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "UTF-8" in rejected(call, url_event(raw_body=b'{"inputs": "\xff"}'))["message"]


def test_body_that_is_not_an_object_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "must be a JSON object, not an array" in rejected(call, url_event(body=["Hi"]))["message"]


def test_invalid_base64_body_is_rejected(call: Call, stubber: Stubber) -> None:
    event = url_event(raw_body="not base64!!")
    event["isBase64Encoded"] = True
    assert "base64" in rejected(call, event)["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_rejected(call: Call, stubber: Stubber, constant: str) -> None:
    raw = '{"inputs": "Hi", "parameters": {"temperature": ' + constant + "}}"
    assert "finite" in rejected(call, url_event(raw_body=raw))["message"]


def test_deeply_nested_json_is_rejected(call: Call, stubber: Stubber) -> None:
    rejected(call, url_event(raw_body='{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}"))


def test_an_integer_longer_than_python_reads_is_rejected(call: Call, stubber: Stubber) -> None:
    rejected(call, url_event(raw_body='{"inputs": "Hi", "parameters": {"seed": ' + "9" * 5000 + "}}"))


def test_a_lone_surrogate_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "surrogate" in rejected(call, url_event(raw_body='{"inputs": "\\ud800"}'))["message"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"inputs": "Hi", "parameters": {"\\ud800": 1}}',
        '{"\\udfff": 1}',
        '{"messages": [{"role": "user", "content": "Hi", "\\ud800": 1}]}',
    ],
)
def test_an_error_echoing_a_lone_surrogate_key_is_valid_utf8(proxy: Proxy, raw: str) -> None:
    path = "/chat" if "messages" in raw else "/generate"
    result = handle_event(proxy, url_event(path=path, raw_body=raw), None)
    data = result["body"].encode("utf-8")
    assert result["statusCode"] == 400
    assert json.loads(data)["error"]["param"].endswith(("\ud800", "\udfff"))


def test_body_above_the_limit_is_413(call: Call, stubber: Stubber) -> None:
    raw = '{"inputs": "' + "a" * MAX_REQUEST_BYTES + '"}'
    assert rejected(call, url_event(raw_body=raw), 413)["type"] == "payload_too_large"


def test_body_at_the_limit_is_not_413(call: Call, stubber: Stubber) -> None:
    # Valid size, invalid content: the 400 proves the size check let it through.
    raw = '{"inputs": 1, "x": "' + "a" * (MAX_REQUEST_BYTES - 25) + '"}'
    rejected(call, url_event(raw_body=raw), 400)


def test_unknown_top_level_field_is_rejected_with_the_allowed_ones(call: Call, stubber: Stubber) -> None:
    error = rejected(call, url_event(body={"inputs": "Hi", "prompt": "x"}))
    assert error["param"] == "prompt"
    assert "Allowed: inputs, parameters, stream" in error["message"]


def test_stream_true_is_rejected_on_the_buffered_route(call: Call, stubber: Stubber) -> None:
    assert rejected(call, url_event(body={"inputs": "Hi", "stream": True}))["param"] == "stream"


def test_stream_that_is_not_a_boolean_is_rejected(call: Call, stubber: Stubber) -> None:
    assert rejected(call, url_event(body={"inputs": "Hi", "stream": "yes"}))["param"] == "stream"


def test_missing_inputs_is_rejected(call: Call, stubber: Stubber) -> None:
    assert rejected(call, url_event(body={"parameters": {}}))["param"] == "inputs"


@pytest.mark.parametrize("inputs", ["", 3, None, ["Hi"]])
def test_inputs_must_be_a_non_empty_string(call: Call, stubber: Stubber, inputs: object) -> None:
    assert rejected(call, url_event(body={"inputs": inputs}))["param"] == "inputs"


def test_parameters_must_be_an_object(call: Call, stubber: Stubber) -> None:
    assert rejected(call, url_event(body={"inputs": "Hi", "parameters": [1]}))["param"] == "parameters"


# --- TGI parameters ---------------------------------------------------------------------------------------


def test_unknown_parameter_is_rejected_with_the_allowed_list(call: Call, stubber: Stubber) -> None:
    error = rejected(call, generate({"max_tokens": 10}))
    assert error["param"] == "parameters.max_tokens"
    assert "Allowed: best_of, decoder_input_details, details, do_sample, max_new_tokens" in error["message"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("temperature", 0),
        ("temperature", -0.5),
        ("temperature", "0.7"),
        ("temperature", True),
        ("temperature", 1e39),
        ("temperature", 10**400),
        ("repetition_penalty", -(10**400)),
        ("top_p", 0),
        ("top_p", 1),
        ("top_p", 1.0),
        ("top_p", 1.5),
        ("typical_p", 0),
        ("typical_p", 1.0),
        ("repetition_penalty", 0),
        ("repetition_penalty", -1.2),
        ("top_k", 0),
        ("top_k", -3),
        ("top_k", 2.0),
        ("top_k", 2**31),
        ("max_new_tokens", 0),
        ("max_new_tokens", 8192),
        ("max_new_tokens", 10.0),
        ("max_new_tokens", None),
        ("max_new_tokens", "100"),
        ("truncate", 0),
        ("truncate", 8192),
        ("seed", -1),
        ("seed", 2**64),
        ("seed", 1.5),
        ("top_n_tokens", 6),
        ("top_n_tokens", -1),
        ("best_of", 0),
        ("best_of", 3),
        ("do_sample", 1),
        ("do_sample", None),
        ("details", "true"),
        ("watermark", None),
        ("decoder_input_details", 0),
        ("return_full_text", "no"),
        ("stop", "\n"),
        ("stop", None),
        ("stop", ["a", "b", "c", "d", "e"]),
        ("stop", [1]),
        ("stop", [""]),
    ],
)
def test_parameter_outside_what_tgi_accepts_is_rejected(
    call: Call, stubber: Stubber, name: str, value: object
) -> None:
    error = rejected(call, generate({name: value}))
    assert error["param"] == f"parameters.{name}"
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("route", ["/generate", "/chat"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("top_p", 0.99999999999),
        ("typical_p", 0.99999999999),
        ("top_p", 1e-50),
        ("temperature", 1e-60),
        ("repetition_penalty", 1e-300),
    ],
)
def test_a_parameter_out_of_range_as_tgis_32_bit_float_is_rejected(
    call: Call, stubber: Stubber, route: str, name: str, value: float
) -> None:
    head: dict[str, Any] = (
        {"inputs": "Hi"} if route == "/generate" else {"messages": [{"role": "user", "content": "Hi"}]}
    )
    error = rejected(call, url_event(path=route, body={**head, "parameters": {name: value}}))
    assert error["param"] == f"parameters.{name}"
    assert f"{value!r} is " in error["message"] and "32-bit float" in error["message"]


def test_a_probability_that_rounds_to_one_names_the_largest_value_tgi_accepts(
    call: Call, stubber: Stubber
) -> None:
    assert "send at most 0.99999994" in rejected(call, generate({"top_p": 0.99999999999}))["message"]


def test_max_new_tokens_limit_follows_the_deployed_max_total_tokens(stubber: Stubber, client: Any) -> None:
    proxy = Proxy(make_config(MAX_INPUT_LENGTH="1024", MAX_TOTAL_TOKENS="2048"), client)
    result = handle_event(proxy, generate({"max_new_tokens": 2048}), None)
    assert result["statusCode"] == 400
    assert "from 1 to 2047" in result["body"]


def test_best_of_above_one_needs_sampling(call: Call, stubber: Stubber) -> None:
    assert rejected(call, generate({"best_of": 2}))["param"] == "parameters.best_of"


def test_best_of_above_one_forbids_a_seed(call: Call, stubber: Stubber) -> None:
    assert (
        rejected(call, generate({"best_of": 2, "do_sample": True, "seed": 1}))["param"] == "parameters.seed"
    )


def test_chat_does_not_offer_return_full_text(call: Call, stubber: Stubber) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "parameters": {"return_full_text": True}}
    assert rejected(call, url_event(path="/chat", body=body))["param"] == "parameters.return_full_text"


# --- chat messages ---------------------------------------------------------------------------------------


def chat(messages: Any) -> dict[str, Any]:
    return url_event(path="/chat", body={"messages": messages})


def test_empty_messages_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "empty" in rejected(call, chat([]))["message"]


def test_missing_messages_is_rejected(call: Call, stubber: Stubber) -> None:
    assert rejected(call, url_event(path="/chat", body={"parameters": {}}))["param"] == "messages"


def test_messages_must_be_an_array(call: Call, stubber: Stubber) -> None:
    assert rejected(call, chat({"role": "user"}))["param"] == "messages"


def test_a_message_must_be_an_object(call: Call, stubber: Stubber) -> None:
    assert rejected(call, chat(["Hi"]))["param"] == "messages[0]"


def test_unknown_role_is_rejected(call: Call, stubber: Stubber) -> None:
    error = rejected(call, chat([{"role": "tool", "content": "x"}]))
    assert error["param"] == "messages[0].role"
    assert "system, user, assistant" in error["message"]


def test_content_must_be_a_string(call: Call, stubber: Stubber) -> None:
    assert rejected(call, chat([{"role": "user", "content": 5}]))["param"] == "messages[0].content"


def test_missing_content_is_rejected(call: Call, stubber: Stubber) -> None:
    assert rejected(call, chat([{"role": "user"}]))["param"] == "messages[0].content"


def test_unknown_message_field_is_rejected(call: Call, stubber: Stubber) -> None:
    assert (
        rejected(call, chat([{"role": "user", "content": "x", "name": "a"}]))["param"] == "messages[0].name"
    )


def test_conversation_must_start_with_user(call: Call, stubber: Stubber) -> None:
    error = rejected(call, chat([{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Hi"}]))
    assert "alternate user/assistant" in error["message"]
    assert error["param"] == "messages[0].role"


def test_roles_must_alternate(call: Call, stubber: Stubber) -> None:
    error = rejected(call, chat([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]))
    assert error["param"] == "messages[1].role"
    assert "'assistant' was expected" in error["message"]


def test_conversation_must_end_with_user(call: Call, stubber: Stubber) -> None:
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert "must be from the user" in rejected(call, chat(messages))["message"]


def test_system_message_after_the_first_turn_is_rejected(call: Call, stubber: Stubber) -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "system", "content": "c"},
        {"role": "user", "content": "d"},
    ]
    assert "must come first" in rejected(call, chat(messages))["message"]


def test_system_message_alone_is_rejected(call: Call, stubber: Stubber) -> None:
    assert "no user message" in rejected(call, chat([{"role": "system", "content": "Be brief."}]))["message"]


def test_chat_routes_answer_400_on_a_base_model(stubber: Stubber, client: Any) -> None:
    proxy = Proxy(make_config(PROMPT_FORMAT="none"), client)
    result = handle_event(proxy, chat([{"role": "user", "content": "Hi"}]), None)
    assert result["statusCode"] == 400
    assert "POST /generate" in result["body"]


def test_openai_route_answers_400_on_a_base_model(stubber: Stubber, client: Any) -> None:
    proxy = Proxy(make_config(PROMPT_FORMAT="none"), client)
    event = url_event(path="/v1/chat/completions", body={"messages": [{"role": "user", "content": "Hi"}]})
    assert handle_event(proxy, event, None)["statusCode"] == 400


# --- OpenAI fields ---------------------------------------------------------------------------------------


def openai(**fields: Any) -> dict[str, Any]:
    return url_event(
        path="/v1/chat/completions",
        body={"model": "m", "messages": [{"role": "user", "content": "Hi"}], **fields},
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n", 2),
        ("n", True),
        ("n", 1.0),
        ("temperature", 2.5),
        ("temperature", -1),
        ("temperature", "hot"),
        ("top_p", 0),
        ("top_p", 1.1),
        ("max_tokens", 0),
        ("max_tokens", 8192),
        ("max_tokens", 1.5),
        ("max_completion_tokens", -1),
        ("stop", ["a", "b", "c", "d", "e"]),
        ("stop", 3),
        ("seed", -5),
        ("model", 7),
        ("stream", True),
        ("frequency_penalty", 0.5),
        ("tools", []),
    ],
)
def test_openai_field_outside_what_maps_onto_tgi_is_rejected(
    call: Call, stubber: Stubber, name: str, value: object
) -> None:
    assert rejected(call, openai(**{name: value}))["param"] == name


@pytest.mark.parametrize(("name", "value"), [("temperature", 1e-300), ("top_p", 1e-50)])
def test_openai_value_that_is_0_as_tgis_32_bit_float_is_rejected(
    call: Call, stubber: Stubber, name: str, value: float
) -> None:
    error = rejected(call, openai(**{name: value}))
    assert error["param"] == name
    assert f"{value!r} is 0.0 as the 32-bit float TGI reads" in error["message"]


def test_openai_conflicting_token_limits_are_rejected(call: Call, stubber: Stubber) -> None:
    assert rejected(call, openai(max_tokens=5, max_completion_tokens=6))["param"] == "max_tokens"


@pytest.mark.parametrize(("max_tokens", "max_completion_tokens"), [(5, 5.0), (1, True)])
def test_openai_max_completion_tokens_type_is_checked_when_max_tokens_is_equal(
    call: Call, stubber: Stubber, max_tokens: int, max_completion_tokens: object
) -> None:
    error = rejected(call, openai(max_tokens=max_tokens, max_completion_tokens=max_completion_tokens))
    assert error["param"] == "max_completion_tokens"


def test_openai_image_parts_are_rejected(call: Call, stubber: Stubber) -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]
    event = url_event(path="/v1/chat/completions", body={"messages": [{"role": "user", "content": content}]})
    assert "text only" in rejected(call, event)["message"]


def test_openai_tool_role_is_rejected(call: Call, stubber: Stubber) -> None:
    event = url_event(path="/v1/chat/completions", body={"messages": [{"role": "tool", "content": "x"}]})
    assert rejected(call, event)["param"] == "messages[0].role"


def test_openai_message_name_must_be_a_string(call: Call, stubber: Stubber) -> None:
    event = url_event(
        path="/v1/chat/completions", body={"messages": [{"role": "user", "content": "x", "name": 1}]}
    )
    assert rejected(call, event)["param"] == "messages[0].name"


def test_a_built_payload_above_sagemakers_limit_is_413() -> None:
    from invoke_proxy.errors import ProxyError
    from invoke_proxy.tgi import ModelCall

    call = ModelCall("/generate", "a" * 6_000_000, {"max_new_tokens": 1}, False, ())
    with pytest.raises(ProxyError) as raised:
        call.payload()
    assert raised.value.status == 413
