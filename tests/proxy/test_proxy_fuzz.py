"""Property-based fuzzing of request bodies: invalid input never yields a 5xx, an exception, a model call or
a response body that is not UTF-8.

Bodies are sent through the real function URL adapter (and the local dev server) to a real botocore client
whose HTTP layer answers a canned TGI response, counting the calls that reached it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from function_url_server import make_local_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxy_helpers import LambdaContext, canned_http, make_config, tgi_answer, url_event

from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client
from invoke_proxy.validation import TGI_PARAMETERS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUTES = ["/generate", "/chat", "/v1/chat/completions", "/health", "/", "/generate/x", "/v1/models"]
OPENAI_FIELDS = [
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
]


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Text, half of it with lone surrogates: JSON's \\ud800 escapes let a caller put them in any key or value."""
    surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    # Joined by hand: st.text() drops most surrogates from its alphabet.
    mixed = st.lists(st.characters() | surrogates, min_size=1, max_size=max_size).map("".join)
    return st.text(max_size=max_size) | mixed


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    # Integers beyond float range: JSON allows them, and float() of one raises OverflowError.
    st.builds(lambda digits, sign: sign * 10**digits, st.integers(309, 1000), st.sampled_from([1, -1])),
    st.floats(allow_nan=True, allow_infinity=True),
    texts(20),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts(10), children, max_size=5),
    max_leaves=20,
)
parameter_names = st.sampled_from([*TGI_PARAMETERS, "max_tokens", "n", "stream", ""]) | texts(12)
parameters = st.dictionaries(parameter_names, json_values, max_size=6)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "developer", "tool", ""]) | json_values},
        optional={"content": texts(30) | json_values, "name": json_values},
    ),
    max_size=6,
)
structured_bodies = st.fixed_dictionaries(
    {},
    optional={
        **{key: json_values for key in ("\ud800", "x\udfff")},
        "inputs": texts(30) | json_values,
        "parameters": parameters | json_values,
        "messages": messages | json_values,
        "stream": json_values,
        "n": json_values,
        **{field: json_values for field in OPENAI_FIELDS if field != "messages"},
    },
)
# Near-valid bodies: a valid request with one field replaced by anything, so the success path is fuzzed too.
near_valid = st.one_of(
    st.builds(lambda p: {"inputs": "Hi", "parameters": p}, parameters),
    st.builds(lambda m: {"messages": [{"role": "user", "content": "Hi"}], "parameters": m}, parameters),
    st.builds(lambda m: {"messages": m}, messages),
    st.builds(
        lambda field, value: {"model": "m", "messages": [{"role": "user", "content": "Hi"}], field: value},
        st.sampled_from([*OPENAI_FIELDS, "n", "stream"]),
        json_values,
    ),
)


def _with_stray_key(route: str, where: str, key: str, value: Any) -> tuple[str, dict[str, Any]]:
    """A valid request for ``route`` with one more key at one level: errors echo unknown keys back."""
    message: dict[str, Any] = {"role": "user", "content": "Hi"}
    body: dict[str, Any] = {"messages": [message]} if route != "/generate" else {"inputs": "Hi"}
    target = {"message": message, "parameters": body.setdefault("parameters", {})}.get(where, body)
    if route == "/v1/chat/completions" and where == "parameters":
        del body["parameters"]
        target = body
    target[key] = value
    return route, body


stray_key_requests = st.builds(
    _with_stray_key,
    st.sampled_from(["/generate", "/chat", "/v1/chat/completions"]),
    st.sampled_from(["body", "parameters", "message"]),
    texts(12),
    json_values,
)
raw_bodies = st.one_of(
    near_valid.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    structured_bodies.map(lambda v: json.dumps(v).encode()),
)


def utf8_json(result: dict[str, Any]) -> Any:
    """The response body, which must encode as UTF-8 (what a function URL and the local server send)."""
    return json.loads(result["body"].encode("utf-8"))


@pytest.fixture(scope="module")
def canned_proxy() -> Iterator[tuple[Proxy, list[int]]]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        env.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        env.delenv("AWS_PROFILE", raising=False)
        config = make_config()
        client = create_client(config)
        calls = canned_http(client, json.dumps(tgi_answer()).encode())
        yield Proxy(config, client, sleep=lambda _: None), calls


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.sampled_from(ROUTES),
    body=raw_bodies,
    base64_encoded=st.booleans(),
)
def test_no_body_ever_yields_a_5xx_or_an_exception(
    canned_proxy: tuple[Proxy, list[int]], method: str, path: str, body: bytes, base64_encoded: bool
) -> None:
    proxy, calls = canned_proxy
    before = len(calls)
    event = url_event(method, path, raw_body=body, base64_encoded=True)
    if not base64_encoded:
        with contextlib.suppress(UnicodeDecodeError):
            event = url_event(method, path, raw_body=body.decode("utf-8"))
    result = handle_event(proxy, event, LambdaContext())
    status = result["statusCode"]
    assert status < 500, result["body"]
    answer = utf8_json(result)
    if status >= 400:
        assert len(calls) == before, "an invalid request reached the endpoint"
        assert set(answer) == {"error", "request_id"}
        assert "Traceback" not in result["body"]
    elif len(calls) > before:
        assert len(calls) == before + 1


# Values inside what TGI 1.1 accepts: they must all pass, or the proxy refuses requests the model would serve.
open_unit = st.floats(min_value=1e-6, max_value=1 - 1e-6)
valid_parameters = st.fixed_dictionaries(
    {},
    optional={
        "temperature": st.floats(min_value=1e-3, max_value=100) | st.integers(min_value=1, max_value=100),
        "top_p": open_unit,
        "typical_p": open_unit,
        "top_k": st.integers(min_value=1, max_value=2**31 - 1),
        "repetition_penalty": st.floats(min_value=1e-3, max_value=10),
        "max_new_tokens": st.integers(min_value=1, max_value=8191),
        "truncate": st.integers(min_value=1, max_value=8191) | st.none(),
        "seed": st.integers(min_value=0, max_value=2**64 - 1) | st.none(),
        "do_sample": st.booleans(),
        "stop": st.lists(st.text(min_size=1, max_size=5), max_size=4),
        "details": st.booleans(),
        "decoder_input_details": st.booleans(),
        "return_full_text": st.booleans() | st.none(),
        "watermark": st.booleans(),
        "top_n_tokens": st.integers(min_value=0, max_value=5),
    },
)


@FUZZ
@given(inputs=st.text(min_size=1, max_size=50), params=valid_parameters)
def test_every_request_tgi_accepts_reaches_the_model(
    canned_proxy: tuple[Proxy, list[int]], inputs: str, params: dict[str, Any]
) -> None:
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in inputs + "".join(params.get("stop", []))):
        return  # not representable as UTF-8, so not a request anyone can send
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in params.values())
    proxy, calls = canned_proxy
    before = len(calls)
    event = url_event(body={"inputs": inputs, "parameters": params})
    result = handle_event(proxy, event, LambdaContext())
    assert result["statusCode"] == 200, result["body"]
    assert len(calls) == before + 1


def assert_4xx_without_a_call_or_200(result: dict[str, Any], calls: list[int], before: int) -> None:
    status = result["statusCode"]
    assert status < 500, result["body"]
    utf8_json(result)
    assert len(calls) == before + (1 if status == 200 else 0)


@FUZZ
@given(
    name=st.sampled_from(sorted(TGI_PARAMETERS)),
    value=json_values,
    route=st.sampled_from(["/generate", "/chat"]),
)
def test_any_value_of_any_tgi_parameter_is_served_or_refused_cleanly(
    canned_proxy: tuple[Proxy, list[int]], name: str, value: Any, route: str
) -> None:
    proxy, calls = canned_proxy
    before = len(calls)
    head: dict[str, Any] = (
        {"inputs": "Hi"} if route == "/generate" else {"messages": [{"role": "user", "content": "Hi"}]}
    )
    event = url_event(path=route, raw_body=json.dumps({**head, "parameters": {name: value}}))
    assert_4xx_without_a_call_or_200(handle_event(proxy, event, LambdaContext()), calls, before)


@FUZZ
@given(name=st.sampled_from([*OPENAI_FIELDS, "n", "stream"]), value=json_values)
def test_any_value_of_any_openai_field_is_served_or_refused_cleanly(
    canned_proxy: tuple[Proxy, list[int]], name: str, value: Any
) -> None:
    proxy, calls = canned_proxy
    before = len(calls)
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], name: value}
    event = url_event(path="/v1/chat/completions", raw_body=json.dumps(body))
    assert_4xx_without_a_call_or_200(handle_event(proxy, event, LambdaContext()), calls, before)


@FUZZ
@given(request=stray_key_requests)
def test_a_stray_key_anywhere_is_served_or_refused_cleanly(
    canned_proxy: tuple[Proxy, list[int]], request: tuple[str, dict[str, Any]]
) -> None:
    proxy, calls = canned_proxy
    before = len(calls)
    route, body = request
    event = url_event(path=route, raw_body=json.dumps(body))
    assert_4xx_without_a_call_or_200(handle_event(proxy, event, LambdaContext()), calls, before)


@FUZZ
@given(value=messages | json_values, route=st.sampled_from(["/chat", "/v1/chat/completions"]))
def test_any_messages_are_served_or_refused_cleanly(
    canned_proxy: tuple[Proxy, list[int]], value: Any, route: str
) -> None:
    proxy, calls = canned_proxy
    before = len(calls)
    event = url_event(path=route, raw_body=json.dumps({"messages": value}))
    assert_4xx_without_a_call_or_200(handle_event(proxy, event, LambdaContext()), calls, before)


@pytest.fixture(scope="module")
def local_server(canned_proxy: tuple[Proxy, list[int]]) -> Iterator[int]:
    """``mistral-invoke serve``'s HTTP server around the real adapter; yields its port."""
    proxy, _ = canned_proxy
    server = make_local_server("127.0.0.1", 0, lambda event, context: handle_event(proxy, event, context))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@settings(FUZZ, max_examples=150)
@given(
    request=st.tuples(st.sampled_from(ROUTES), raw_bodies)
    | stray_key_requests.map(lambda request: (request[0], json.dumps(request[1]).encode()))
)
def test_the_local_server_answers_every_body_in_utf8_json(
    local_server: int, request: tuple[str, bytes]
) -> None:
    path, body = request
    connection = http.client.HTTPConnection("127.0.0.1", local_server, timeout=10)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        status, data = response.status, response.read()
    finally:
        connection.close()
    assert status < 500, data
    json.loads(data.decode("utf-8"))
