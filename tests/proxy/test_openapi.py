"""The HTTP API's OpenAPI 3.1 document (lambda/invoke_proxy/openapi.json) holds the proxy's real answers.

The document is checked with openapi-spec-validator, then every route's answers, success and error, buffered
(the function URL adapter, SageMaker stubbed with botocore's Stubber) and streamed (the HTTP app behind the Lambda
Web Adapter, against the event-stream stand-in), are validated by openapi-core: status, content type, headers and
body. Each streamed event is validated against the schema the document names for it (``x-event-schema``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_document
from proxy_helpers import (
    LOG_STREAM_ARN,
    Call,
    make_config,
    model_error,
    queue_answer,
    queue_error,
    queue_model_error,
    tgi_answer,
    url_event,
)
from sse_client import SseResponse

from invoke_proxy.openapi import load_openapi
from mistral_client import eventstream
from mistral_client.standin import StandIn, proxy_app, tokens_script

DOCUMENT = load_openapi()
# A server the document names (the function URL), and a request signed as the function URL requires.
HOST = "https://abc.lambda-url.us-east-1.on.aws"
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/us-east-1/lambda/aws4_request"}


def event_stream_text(data: bytes, **parameters: str) -> str:
    """openapi-core leaves a media type it does not know as bytes; an event stream is text."""
    return data.decode(parameters.get("charset", "utf-8"))


API = OpenAPI.from_dict(
    DOCUMENT, config=Config(extra_media_type_deserializers={"text/event-stream": event_stream_text})
)

GENERATE = {"inputs": "The capital of France is", "parameters": {"max_new_tokens": 20}}
CHAT = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
OPENAI = {"model": "mistral-7b-instruct", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50}
CONTAINER_TIMEOUT = (
    'Received server error (0) from primary with message "Your invocation timed out while waiting for a '
    'response from container primary."'
)


def request(method: str, path: str, body: Any = None) -> MockRequest:
    data = None if body is None else json.dumps(body).encode()
    return MockRequest(HOST, method.lower(), path, headers=SIGNED, data=data)


def answered(status: int, body: Any, headers: dict[str, str]) -> MockResponse:
    return MockResponse(
        json.dumps(body).encode(), status, headers=headers, content_type=headers["content-type"]
    )


def schema_validator(ref: str) -> OAS31Validator:
    """A validator for one of the document's schemas, its references resolved within the document."""
    return OAS31Validator({"$ref": ref, "components": DOCUMENT["components"]})


def error_schema_of(response_name: str) -> OAS31Validator:
    return schema_validator(
        DOCUMENT["components"]["responses"][response_name]["content"]["application/json"]["schema"]["$ref"]
    )


# --- the document -----------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    validate_document(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1.")


def test_the_document_describes_every_route_the_proxy_lists(call: Call) -> None:
    status, body, _ = call(url_event("GET", "/health"))
    assert status == 200
    assert set(DOCUMENT["paths"]) == set(body["routes"])


def test_load_openapi_gives_each_caller_its_own_copy() -> None:
    mine = load_openapi()
    mine["paths"].clear()
    assert load_openapi()["paths"] == DOCUMENT["paths"]


# --- buffered answers: success ------------------------------------------------------------------------------

SUCCESSES = {
    "health": ("GET", "/health", None, None),
    "generate": ("POST", "/generate", GENERATE, tgi_answer()),
    "generate with details": (
        "POST",
        "/generate",
        {"inputs": "Hi", "parameters": {"details": True, "decoder_input_details": True, "seed": 7}},
        tgi_answer(prefill=[{"id": 1, "text": "<s>", "logprob": None}]),
    ),
    "chat": ("POST", "/chat", CHAT, tgi_answer("Hello.")),
    "chat with details and a stop sequence": (
        "POST",
        "/chat",
        {**CHAT, "parameters": {"details": True, "stop": ["\n"], "temperature": 0.7, "top_p": 0.9}},
        tgi_answer("Hello.\n", finish_reason="stop_sequence"),
    ),
    "chat completion": ("POST", "/v1/chat/completions", OPENAI, tgi_answer("Hello.", finish_reason="length")),
    "chat completion, OpenAI's own fields": (
        "POST",
        "/v1/chat/completions",
        {
            **OPENAI,
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "content": "Hi", "name": "ann"},
            ],
            "temperature": 0,
            "stop": "\n",
            "seed": 1,
            "n": 1,
            "frequency_penalty": None,
        },
        tgi_answer(),
    ),
}


@pytest.mark.parametrize("case", SUCCESSES, ids=str)
def test_a_successful_request_is_one_the_document_accepts(case: str) -> None:
    method, path, body, _ = SUCCESSES[case]
    API.validate_request(request(method, path, body))


@pytest.mark.parametrize("case", SUCCESSES, ids=str)
def test_a_successful_answer_matches_the_document(case: str, call: Call, stubber: Stubber) -> None:
    method, path, body, answer = SUCCESSES[case]
    if answer is not None:
        queue_answer(stubber, answer)
    status, answer_body, headers = call(url_event(method, path, body))
    assert status == 200, answer_body
    API.validate_response(request(method, path, body), answered(status, answer_body, headers))


# --- buffered answers: errors -------------------------------------------------------------------------------

REFUSED_BY_BOTH = {
    "top_p of 1": {"inputs": "Hi", "parameters": {"top_p": 1.0}},
    "a misspelt parameter": {"inputs": "Hi", "parameters": {"temprature": 0.5}},
    "no inputs": {"parameters": {}},
    "five stop sequences": {"inputs": "Hi", "parameters": {"stop": ["a", "b", "c", "d", "e"]}},
    "best_of of 3": {"inputs": "Hi", "parameters": {"best_of": 3, "do_sample": True}},
}


@pytest.mark.parametrize("case", REFUSED_BY_BOTH, ids=str)
def test_a_request_the_document_refuses_is_a_400_the_document_describes(case: str, call: Call) -> None:
    body = REFUSED_BY_BOTH[case]
    with pytest.raises(Exception, match="not valid"):
        API.validate_request(request("POST", "/generate", body))
    status, answer_body, headers = call(url_event("POST", "/generate", body))
    assert (status, answer_body["error"]["type"]) == (400, "invalid_request_error")
    API.validate_response(request("POST", "/generate", body), answered(status, answer_body, headers))


def three(queue: Any) -> Any:
    """The same SageMaker error three times: what the proxy retries answers only after its last attempt."""

    def queue_all(stubber: Stubber) -> None:
        for _ in range(3):
            queue(stubber)

    return queue_all


UPSTREAM_ERRORS = {
    "422 model_validation_error": lambda s: queue_model_error(s, 422, '{"error": "Input validation error"}'),
    "429 model_overloaded": lambda s: queue_model_error(s, 429, '{"error": "Model is overloaded"}'),
    "429 throttled": three(lambda s: queue_error(s, "ThrottlingException", 400, "Rate exceeded")),
    "502 model_error": lambda s: queue_model_error(s, 500, '{"error": "CUDA out of memory"}'),
    "502 endpoint_error": lambda s: queue_error(s, "ValidationError", 400, "Endpoint x not found."),
    "502 upstream_error": three(lambda s: queue_error(s, "InternalFailure", 500)),
    "503 model_not_ready": lambda s: queue_error(s, "ModelNotReadyException", 429, "Model is not ready"),
    "503 service_unavailable": three(lambda s: queue_error(s, "ServiceUnavailable", 503)),
    "504 timeout": lambda s: queue_error(
        s, "ModelError", 424, CONTAINER_TIMEOUT, OriginalStatusCode=0, LogStreamArn=LOG_STREAM_ARN
    ),
}


@pytest.mark.parametrize("case", UPSTREAM_ERRORS, ids=str)
@pytest.mark.parametrize(
    "path, body", [("/generate", GENERATE), ("/chat", CHAT), ("/v1/chat/completions", OPENAI)]
)
def test_an_upstream_error_matches_the_document(
    case: str, path: str, body: dict[str, Any], call: Call, stubber: Stubber
) -> None:
    UPSTREAM_ERRORS[case](stubber)
    status, answer_body, headers = call(url_event("POST", path, body))
    assert f"{status} {answer_body['error']['type']}" == case
    API.validate_response(request("POST", path, body), answered(status, answer_body, headers))


@pytest.mark.parametrize("config", [make_config(INFERENCE_COMPONENT_NAME="mistral-component")])
def test_a_model_scaling_up_from_zero_matches_the_document(call: Call, stubber: Stubber) -> None:
    queue_error(
        stubber, "ValidationError", 400, "Inference Component has no capacity to process this request."
    )
    status, answer_body, headers = call(url_event("POST", "/generate", GENERATE))
    assert (status, answer_body["error"]["type"]) == (503, "model_scaling_up")
    API.validate_response(request("POST", "/generate", GENERATE), answered(status, answer_body, headers))


class Exploding:
    def invoke_endpoint(self, **_: Any) -> Any:
        raise RuntimeError("a bug")


@pytest.mark.parametrize("client", [Exploding()])
def test_an_internal_error_matches_the_document(call: Call) -> None:
    status, answer_body, headers = call(url_event("POST", "/generate", GENERATE))
    assert (status, answer_body["error"]["type"]) == (500, "internal_error")
    API.validate_response(request("POST", "/generate", GENERATE), answered(status, answer_body, headers))


def test_a_body_above_5_mib_is_a_413_the_document_describes(call: Call) -> None:
    body = {"inputs": "x" * (5 * 1024 * 1024)}
    status, answer_body, headers = call(url_event("POST", "/generate", body))
    assert (status, answer_body["error"]["type"]) == (413, "payload_too_large")
    API.validate_response(request("POST", "/generate", body), answered(status, answer_body, headers))


def test_an_unknown_path_is_the_documents_not_found_answer(call: Call) -> None:
    status, answer_body, headers = call(url_event("POST", "/v1/completions", {"prompt": "Hi"}))
    assert (status, answer_body["error"]["type"]) == (404, "not_found")
    error_schema_of("NotFound").validate(answer_body)
    assert headers["x-request-id"] and headers["content-type"] == "application/json"


def test_a_wrong_method_is_the_documents_method_not_allowed_answer(call: Call) -> None:
    status, answer_body, headers = call(url_event("GET", "/generate"))
    assert (status, answer_body["error"]["type"]) == (405, "method_not_allowed")
    error_schema_of("MethodNotAllowed").validate(answer_body)
    declared = DOCUMENT["components"]["responses"]["MethodNotAllowed"]["headers"]
    assert {name.lower() for name in declared} <= set(headers)


def test_the_documents_error_schema_refuses_an_error_without_its_type() -> None:
    errors = list(schema_validator("#/components/schemas/Error").iter_errors({"error": {"message": "m"}}))
    assert errors


# --- streamed answers: the HTTP app behind the Lambda Web Adapter ------------------------------------------


@pytest.fixture
def app(sagemaker: StandIn) -> Iterator[str]:
    with proxy_app(make_config()) as url:
        yield url


def event_schema(path: str) -> OAS31Validator:
    media = DOCUMENT["paths"][path]["post"]["responses"]["200"]["content"]["text/event-stream"]
    return schema_validator(media["x-event-schema"]["$ref"])


def read_stream(app: str, path: str, body: dict[str, Any]) -> tuple[SseResponse, list[str], bytes]:
    response = SseResponse(app, path, body)
    try:
        events = list(response.events())
    finally:
        response.close()
    raw = b"".join(b"data: " + event.encode() + b"\n\n" for event in events)
    return response, events, raw


STREAMED = {
    "/generate": {**GENERATE, "stream": True},
    "/chat": {**CHAT, "stream": True, "parameters": {"stop": ["!"]}},
    "/v1/chat/completions": {**OPENAI, "stream": True, "stream_options": {"include_usage": True}},
}


@pytest.mark.parametrize("path", STREAMED)
def test_a_streamed_answer_matches_the_document(path: str, app: str, sagemaker: StandIn) -> None:
    sagemaker.stream(*tokens_script(["Hel", "lo", "!"], finish_reason="stop_sequence"))
    body = STREAMED[path]
    API.validate_request(request("POST", path, body))
    response, events, raw = read_stream(app, path, body)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    API.validate_response(
        request("POST", path, body),
        MockResponse(raw, 200, headers=response.headers, content_type=response.headers["content-type"]),
    )
    if path == "/v1/chat/completions":
        assert events[-1] == "[DONE]"
        events = events[:-1]
    assert events
    for event in events:
        event_schema(path).validate(json.loads(event))


@pytest.mark.parametrize("path", STREAMED)
def test_a_failure_mid_stream_ends_with_an_event_the_document_describes(
    path: str, app: str, sagemaker: StandIn
) -> None:
    first, _ = tokens_script([" Par", "is."])
    sagemaker.stream(first, eventstream.model_stream_error("Model invocation time exceeded"))
    _, events, _ = read_stream(app, path, STREAMED[path])
    last = json.loads(events[-1])
    assert set(last) == {"error", "request_id"}
    event_schema(path).validate(last)


def test_a_failure_before_the_first_token_is_a_json_error_the_document_describes(
    app: str, sagemaker: StandIn
) -> None:
    message = json.dumps({"error": "Input validation error: too long", "error_type": "validation"})
    model_error(sagemaker, 422, message)
    body = STREAMED["/generate"]
    response = SseResponse(app, "/generate", body)
    try:
        answer = response.body()
    finally:
        response.close()
    assert (response.status, answer["error"]["type"]) == (422, "model_validation_error")
    API.validate_response(
        request("POST", "/generate", body),
        MockResponse(
            json.dumps(answer).encode(),
            response.status,
            headers=response.headers,
            content_type=response.headers["content-type"],
        ),
    )
