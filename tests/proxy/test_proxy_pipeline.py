"""The request pipeline's seams: one handler per route in the registry, and the collaborators (clock, wall
clock, logger, metrics writer) the proxy is given being the ones every step uses, streams included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from itertools import count
from typing import Any

import pytest
from botocore.stub import Stubber
from proxy_helpers import LambdaContext, make_config, queue_answer, queue_model_error, url_event

from invoke_proxy.config import Config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.paths import normalize_path
from invoke_proxy.records import Response
from invoke_proxy.routes import REGISTRY

OPENAI = {"messages": [{"role": "user", "content": "Hi"}]}


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, ListHandler]]:
    log = logging.getLogger("test_proxy_pipeline")
    handler = ListHandler()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log, handler
    log.removeHandler(handler)


class StreamBody:
    """botocore's event stream of PayloadParts, as InvokeEndpointWithResponseStream's Body."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.parts = [{"PayloadPart": {"Bytes": b"data:" + json.dumps(e).encode() + b"\n\n"}} for e in events]
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.parts)

    def close(self) -> None:
        self.closed = True


class StreamingClient:
    def __init__(self, body: StreamBody) -> None:
        self.body = body

    def invoke_endpoint_with_response_stream(self, **_: Any) -> dict[str, Any]:
        return {"Body": self.body}


def two_tokens() -> StreamBody:
    token = {"id": 1, "text": "Pa", "logprob": -0.1, "special": False}
    last = {"id": 2, "text": "ris", "logprob": -0.1, "special": False}
    details = {"finish_reason": "eos_token", "generated_tokens": 2, "seed": None}
    return StreamBody(
        [
            {"token": token, "generated_text": None, "details": None},
            {"token": last, "generated_text": "Paris", "details": details},
        ]
    )


def test_every_registered_route_is_listed_by_health(config: Config) -> None:
    proxy = Proxy(config, client=None)
    answer = proxy.handle("GET", "/health", b"", "r")
    assert answer.body["routes"] == list(REGISTRY)


def test_each_registered_route_answers_only_its_methods(config: Config) -> None:
    proxy = Proxy(config, client=None)
    for path, route in REGISTRY.items():
        answer = proxy.handle("DELETE", path, b"", "r")
        assert (answer.status, answer.headers["Allow"]) == (405, ", ".join(route.methods))


def test_one_trailing_slash_names_the_same_route() -> None:
    assert (normalize_path("/generate/"), normalize_path("/")) == ("/generate", "/")


def test_metrics_go_to_the_writer_the_proxy_is_given(config: Config, client: Any, stubber: Stubber) -> None:
    written: list[Mapping[str, Any]] = []
    queue_answer(stubber)
    proxy = Proxy(config, client, write_metrics=written.append)
    handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    assert [(line["route"], line["status"]) for line in written] == [("/generate", 200)]


def test_the_request_line_goes_to_the_logger_the_proxy_is_given(
    config: Config, logger: tuple[logging.Logger, ListHandler]
) -> None:
    log, handler = logger
    Proxy(config, client=None, logger=log, write_metrics=lambda _: None).handle("GET", "/health", b"", "r")
    assert [(r.getMessage(), r.__dict__["status"]) for r in handler.records] == [("request", 200)]


def test_latencies_are_read_from_the_clock_the_proxy_is_given(
    config: Config, client: Any, stubber: Stubber
) -> None:
    written: list[Mapping[str, Any]] = []
    ticks = iter([1.0, 1.5, 3.5, 4.0])  # request start, model start, model end, request end
    queue_answer(stubber)
    proxy = Proxy(config, client, clock=lambda: next(ticks), write_metrics=written.append)
    handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    assert (written[0]["model_latency_ms"], written[0]["latency_ms"]) == (2000.0, 3000.0)


def test_openai_created_is_read_from_the_wall_clock_the_proxy_is_given(
    config: Config, client: Any, stubber: Stubber
) -> None:
    queue_answer(stubber)
    proxy = Proxy(config, client, wall_clock=lambda: 1_800_000_000.9)
    answer = proxy.handle("POST", "/v1/chat/completions", json.dumps(OPENAI).encode(), "r")
    assert answer.body["created"] == 1_800_000_000


def test_a_failed_model_call_logs_what_the_handler_knew_when_it_failed(
    config: Config, client: Any, stubber: Stubber
) -> None:
    written: list[Mapping[str, Any]] = []
    queue_model_error(stubber, 500, "boom")
    proxy = Proxy(config, client, clock=lambda: 0.0, write_metrics=written.append)
    handle_event(
        proxy, url_event(body={"inputs": "Hi", "parameters": {"max_new_tokens": 9}}), LambdaContext()
    )
    (line,) = written
    assert (line["max_new_tokens"], line["model_latency_ms"], line["error_type"]) == (9, 0.0, "model_error")


def test_a_stream_logs_with_the_collaborators_the_proxy_is_given(
    logger: tuple[logging.Logger, ListHandler],
) -> None:
    log, handler = logger
    written: list[Mapping[str, Any]] = []
    clock = count(10.0, 0.5)
    body = two_tokens()
    proxy = Proxy(
        make_config(),
        StreamingClient(body),
        clock=lambda: next(clock),
        logger=log,
        write_metrics=written.append,
    )
    stream = proxy.open("POST", "/generate", json.dumps({"inputs": "Hi", "stream": True}).encode(), "r")
    assert not isinstance(stream, Response)
    events = [json.loads(event[len(b"data: ") :]) for event in stream]
    stream.close()
    assert [event["token"]["text"] for event in events] == ["Pa", "ris"]
    # Clock readings: received 10.0, model start 10.5, tokens 11.0 and 11.5, end 12.0.
    (record,) = handler.records
    assert (record.__dict__["time_to_first_token_ms"], record.__dict__["latency_ms"]) == (500.0, 2000.0)
    assert [(line["route"], line["status"], line["streamed"]) for line in written] == [
        ("/generate", 200, True)
    ]
    assert body.closed
