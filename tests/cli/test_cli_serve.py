"""Local development mode: `mistral-invoke serve` runs the Lambda handler on localhost against an endpoint."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cli_helpers import FunctionUrl, Run, serve_subprocess
from function_url_server import make_local_server


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"statusCode": 201, "headers": {"x-answer": "yes"}, "body": json.dumps({"ok": True})}

    server = make_local_server("127.0.0.1", 0, handler)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", events
    server.shutdown()
    server.server_close()


def test_the_local_server_hands_the_handler_a_function_url_event(
    local_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, events = local_server
    request = urllib.request.Request(f"{url}/chat?x=1", data=b'{"a": 1}', method="POST")
    with urllib.request.urlopen(request) as response:
        assert (response.status, response.headers["x-answer"], json.load(response)) == (
            201,
            "yes",
            {"ok": True},
        )
    event = events[0]
    assert (event["version"], event["rawPath"], event["rawQueryString"]) == ("2.0", "/chat", "x=1")
    assert event["requestContext"]["http"]["method"] == "POST"
    assert base64.b64decode(event["body"]) == b'{"a": 1}' and event["isBase64Encoded"] is True


def test_the_local_server_refuses_bodies_a_function_url_would(
    local_server: tuple[str, list[dict[str, Any]]],
) -> None:
    url, events = local_server
    request = urllib.request.Request(
        f"{url}/generate", data=b"x", method="POST", headers={"Content-Length": str(7 * 1024 * 1024)}
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 413
    assert events == []


def test_the_local_server_answers_an_error_echoing_a_lone_surrogate_in_utf8() -> None:
    from invoke_proxy.config import load_config
    from invoke_proxy.core import Proxy
    from invoke_proxy.function_url import handle_event

    # Validation answers before any SageMaker call, so the proxy needs no client here.
    proxy = Proxy(load_config({"ENDPOINT_NAME": "dev-ep", "AWS_REGION": "us-east-1"}), client=None)
    server = make_local_server("127.0.0.1", 0, lambda event, context: handle_event(proxy, event, context))
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = b'{"inputs": "x", "parameters": {"\\ud800": 1}}'
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_address[1]}/generate", data=body, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        answer = json.loads(raised.value.read().decode("utf-8"))
        assert (raised.value.code, answer["error"]["param"]) == (400, "parameters.\ud800")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sagemaker() -> Iterator[FunctionUrl]:
    server = FunctionUrl().start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def served(sagemaker: FunctionUrl) -> Iterator[str]:
    """``mistral-invoke serve`` in a subprocess, its SageMaker runtime a loopback stand-in."""
    with serve_subprocess(sagemaker.url.rstrip("/")) as (url, _):
        yield url


def test_serve_answers_through_the_lambda_handler_against_the_endpoint(
    run: Run, served: str, sagemaker: FunctionUrl
) -> None:
    sagemaker.answer(200, [{"generated_text": "Paris.", "details": {"finish_reason": "eos_token"}}])
    code, out, err = run("--url", served, "generate", "The capital of France is", "--no-stream")
    assert (code, out) == (0, "Paris.\n"), err
    assert sagemaker.requests[0].path == "/endpoints/dev-ep/invocations"
    assert sagemaker.requests[0].json()["inputs"] == "The capital of France is"


def test_serve_validates_like_the_deployed_proxy(run: Run, served: str, sagemaker: FunctionUrl) -> None:
    code, _, err = run("--url", served, "generate", "Hi", "--top-p", "1")
    assert code == 1
    assert "400 invalid_request_error" in err
    assert sagemaker.requests == []


def test_serve_needs_an_endpoint_name(run: Run) -> None:
    code, _, err = run("serve")
    assert code == 1
    assert "--endpoint-name" in err


def test_serve_publishes_the_runtimes_openapi_document(served: str, sagemaker: FunctionUrl) -> None:
    from invoke_proxy.openapi import load_openapi

    with urllib.request.urlopen(f"{served.rstrip('/')}/openapi.json", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        assert json.load(response) == load_openapi()
    assert sagemaker.requests == []


def test_serve_says_where_the_openapi_document_is() -> None:
    from mistral_client import cli

    serve = cli.subcommands(cli.build_parser())["serve"]
    assert "/openapi.json" in (serve.description or "")
