"""Scale to zero: the proxy names the inference component, and answers "no capacity" as a model waking up."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from proxy_helpers import (
    ENDPOINT,
    Call,
    Capture,
    LambdaContext,
    make_config,
    queue_answer,
    queue_error,
    tgi_answer,
    url_event,
)

from invoke_proxy.config import Config, ConfigError, load_config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import (
    WAKE_RETRY_AFTER_SECONDS,
    create_client,
    invoke_kwargs,
)

COMPONENT = "mistral-test-component"
GENERATE = url_event(body={"inputs": "Hi"})
# SageMaker's wording, as quoted in the AWS Machine Learning Blog's scale-to-zero post (2024-12).
NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)


@pytest.fixture
def component_config() -> Config:
    return make_config(INFERENCE_COMPONENT_NAME=COMPONENT)


@pytest.fixture
def component_stubber(component_config: Config) -> Iterator[tuple[Stubber, Proxy]]:
    client = create_client(component_config)
    with Stubber(client) as stub:
        yield stub, Proxy(component_config, client, sleep=lambda _: None)
        stub.assert_no_pending_responses()


def send(proxy: Proxy, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    result = handle_event(proxy, event, LambdaContext())
    return result["statusCode"], json.loads(result["body"]), result["headers"]


# --- configuration ---------------------------------------------------------------------------------------


def test_without_an_inference_component_name_none_is_sent() -> None:
    assert load_config({"ENDPOINT_NAME": "ep"}).inference_component_name is None


def test_an_empty_inference_component_name_means_none() -> None:
    assert (
        load_config({"ENDPOINT_NAME": "ep", "INFERENCE_COMPONENT_NAME": "  "}).inference_component_name
        is None
    )


def test_the_inference_component_name_is_read_and_trimmed() -> None:
    config = load_config({"ENDPOINT_NAME": "ep", "INFERENCE_COMPONENT_NAME": f" {COMPONENT} "})
    assert config.inference_component_name == COMPONENT


@pytest.mark.parametrize(
    "name", ["-starts-with-hyphen", "ends-with-hyphen-", "has_underscore", "a" * 64, "sp ace"]
)
def test_an_invalid_inference_component_name_is_refused_with_the_value(name: str) -> None:
    with pytest.raises(ConfigError, match="INFERENCE_COMPONENT_NAME must be a SageMaker inference component"):
        load_config({"ENDPOINT_NAME": "ep", "INFERENCE_COMPONENT_NAME": name})


def test_a_63_character_inference_component_name_is_accepted() -> None:
    name = "a" * 63
    assert (
        load_config({"ENDPOINT_NAME": "ep", "INFERENCE_COMPONENT_NAME": name}).inference_component_name
        == name
    )


# --- the invocation names the component ------------------------------------------------------------------


def test_invoke_kwargs_name_the_component_only_when_there_is_one() -> None:
    assert "InferenceComponentName" not in invoke_kwargs("ep", b"{}")
    assert invoke_kwargs("ep", b"{}", "ic")["InferenceComponentName"] == "ic"


def test_every_invocation_names_the_inference_component(component_stubber: tuple[Stubber, Proxy]) -> None:
    stubber, proxy = component_stubber
    raw = json.dumps(tgi_answer()).encode()
    stubber.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(raw), len(raw)), "ContentType": "application/json"},
        expected_params={
            "EndpointName": ENDPOINT,
            "InferenceComponentName": COMPONENT,
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": (body := Capture()),
        },
    )
    status, answer, _ = send(proxy, GENERATE)
    assert (status, answer["generated_text"]) == (200, "Paris.")
    assert body.json["inputs"] == "Hi"


def test_without_a_component_the_invocation_names_none(call: Call, stubber: Stubber) -> None:
    queue_answer(stubber)  # its expected params hold no InferenceComponentName: Stubber would refuse one
    assert call(GENERATE)[0] == 200


# --- no capacity: the model is waking up -------------------------------------------------------------------


def test_no_capacity_becomes_503_model_scaling_up_with_retry_after(
    component_stubber: tuple[Stubber, Proxy],
) -> None:
    stubber, proxy = component_stubber
    queue_error(stubber, "ValidationError", 400, NO_CAPACITY)
    status, body, headers = send(proxy, GENERATE)
    assert (status, body["error"]["type"]) == (503, "model_scaling_up")
    assert headers["retry-after"] == str(WAKE_RETRY_AFTER_SECONDS) == "60"


def test_the_scaling_up_message_says_starting_from_zero_and_how_long(
    component_stubber: tuple[Stubber, Proxy],
) -> None:
    stubber, proxy = component_stubber
    queue_error(stubber, "ValidationError", 400, NO_CAPACITY)
    _, body, _ = send(proxy, GENERATE)
    message = body["error"]["message"]
    assert "starting from zero" in message
    assert "5-10 minutes" in message
    assert "Traceback" not in json.dumps(body)
    assert "UpdateInferenceComponentRuntimeConfig" not in message  # upstream details stay in the logs


@pytest.mark.parametrize(
    "message",
    [
        "inference component has NO CAPACITY to process this request.",
        "Inference Component has no  capacity to process this request",
        "The inference component mistral-test-component has NoCapacity right now.",
    ],
)
def test_no_capacity_is_matched_whatever_the_case_and_spacing(
    component_stubber: tuple[Stubber, Proxy], message: str
) -> None:
    stubber, proxy = component_stubber
    queue_error(stubber, "ValidationError", 400, message)
    assert send(proxy, GENERATE)[1]["error"]["type"] == "model_scaling_up"


def test_no_capacity_is_not_retried_by_the_proxy(component_stubber: tuple[Stubber, Proxy]) -> None:
    stubber, proxy = component_stubber
    queue_error(
        stubber, "ValidationError", 400, NO_CAPACITY
    )  # one answer queued: a retry would fail the stub
    assert send(proxy, GENERATE)[0] == 503


def test_no_capacity_log_line_keeps_the_upstream_message(
    component_stubber: tuple[Stubber, Proxy], caplog: pytest.LogCaptureFixture
) -> None:
    stubber, proxy = component_stubber
    queue_error(stubber, "ValidationError", 400, NO_CAPACITY)
    with caplog.at_level("INFO", logger="invoke_proxy"):
        send(proxy, GENERATE)
    record = next(r for r in caplog.records if r.getMessage() == "request")
    assert record.error_type == "model_scaling_up"  # type: ignore[attr-defined]
    assert record.upstream_message == NO_CAPACITY  # type: ignore[attr-defined]


def test_other_validation_errors_keep_their_mapping(component_stubber: tuple[Stubber, Proxy]) -> None:
    stubber, proxy = component_stubber
    queue_error(stubber, "ValidationError", 400, f"Inference component {COMPONENT} not found.")
    status, body, _ = send(proxy, GENERATE)
    assert (status, body["error"]["type"]) == (502, "endpoint_error")


def test_capacity_words_in_another_error_code_are_not_read_as_scaling_up(
    call: Call, stubber: Stubber
) -> None:
    queue_error(stubber, "InternalDependencyException", 530, "no capacity")
    assert call(GENERATE)[1]["error"]["type"] == "upstream_error"
