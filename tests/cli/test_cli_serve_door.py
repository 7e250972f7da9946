"""``mistral-invoke serve`` in front of a deployed door: every local request goes on to the door, SigV4-signed
for its service and region, and the answer comes back as it arrives (events one by one, status, Retry-After and
error bodies as the door sent them). The door here is a loopback imitation (``fake_door``) that checks the
signature; the forwarder dials it while signing for the door's real host name."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import test_cli_stack
from botocore.stub import Stubber
from cli_helpers import Run
from fake_door import FakeDoor, Play
from test_cli_stack import STACK, stack_description

from mistral_client import door_forward, serve, transport
from mistral_client.signing import make_session

cloudformation = test_cli_stack.cloudformation  # the stack tests' fixture: DescribeStacks, stubbed

PRIVATE_API = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/"
FUNCTION_URL = "https://abcdefghijklmnop.lambda-url.eu-central-1.on.aws/"
SSE = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
WAKE_BODY = (
    b'{"error": {"type": "model_scaling_up", "message": "The model is starting."},  "request_id": "r-1"}'
)
EVENTS = [
    b'data: {"token": {"id": 1, "text": " Par", "special": false}, "generated_text": null}\n\n',
    b'data: {"token": {"id": 2, "text": "is", "special": false}, "generated_text": null}\n\n',
    b'data: {"token": {"id": 3, "text": ".", "special": false}, "generated_text": " Paris."}\n\n',
]


def forwarder_for(door_url: str, door: FakeDoor) -> Iterator[str]:
    """``serve``'s forwarder for ``door_url`` (its service and region from the URL, as ``--url`` gives them),
    dialling the loopback door; yields the forwarder's URL."""
    session = make_session()
    args = argparse.Namespace(url=door_url, stack=None, region=None, door=None, service=None, api_id=None)
    target = transport.resolve_target(args, session)

    def dial(parts: urllib.parse.SplitResult, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", door.port, timeout=timeout)

    server = door_forward.DoorForwarder(
        ("127.0.0.1", 0),
        target,
        transport.signer_for(session, target),
        local=serve.local_route,
        timeout=10,
        connect=dial,
    )
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def private_door() -> Iterator[FakeDoor]:
    door = FakeDoor(PRIVATE_API, "execute-api", "eu-west-1").start()
    yield door
    door.shutdown()
    door.server_close()


@pytest.fixture
def forwarder(private_door: FakeDoor) -> Iterator[str]:
    yield from forwarder_for(PRIVATE_API, private_door)


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request(
        "POST", parts.path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})}
    )
    return connection.getresponse()


def next_event(response: http.client.HTTPResponse) -> bytes:
    """Read one whole event (up to its blank line) from the local answer, however it was cut."""
    data = b""
    while not data.endswith(b"\n\n"):
        piece = response.read1(65536)
        assert piece, f"the stream ended inside an event: {data!r}"
        data += piece
    return data


def test_a_request_reaches_the_door_under_its_stage(forwarder: str, private_door: FakeDoor) -> None:
    private_door.plays.append(Play(200, {"Content-Type": "application/json"}, b'{"status": "ok"}'))
    with urllib.request.urlopen(f"{forwarder}/health", timeout=10) as answer:
        assert json.load(answer) == {"status": "ok"}
    assert private_door.requests[0].path == "/prod/health"


def test_a_request_to_a_private_api_is_signed_for_execute_api_in_its_region(
    forwarder: str, private_door: FakeDoor
) -> None:
    private_door.plays.append(Play(200, {"Content-Type": "application/json"}, b'{"generated_text": "x"}'))
    post(f"{forwarder}/generate", {"inputs": "Hi"}).read()
    assert private_door.signed_correctly(private_door.requests[0])


def test_a_request_to_a_function_url_is_signed_for_lambda_in_its_region() -> None:
    door = FakeDoor(FUNCTION_URL, "lambda", "eu-central-1").start()
    try:
        door.plays.append(Play(200, {"Content-Type": "application/json"}, b'{"status": "ok"}'))
        for url in forwarder_for(FUNCTION_URL, door):
            with urllib.request.urlopen(f"{url}/health", timeout=10) as answer:
                assert answer.status == 200
        assert door.signed_correctly(door.requests[0])
    finally:
        door.shutdown()
        door.server_close()


def test_a_callers_bearer_token_is_replaced_by_the_signature(forwarder: str, private_door: FakeDoor) -> None:
    private_door.plays.append(Play(200, {"Content-Type": "application/json"}, b"{}"))
    post(f"{forwarder}/v1/chat/completions", {"messages": []}, {"Authorization": "Bearer unused"}).read()
    assert private_door.requests[0].headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")


def test_events_arrive_one_by_one(forwarder: str, private_door: FakeDoor) -> None:
    # The door sends each event only after the test has read the one before: a forwarder that held the
    # stream back would leave the test waiting for an event the door never sends.
    private_door.plays.append(Play(200, SSE, events=EVENTS))
    response = post(f"{forwarder}/generate", {"inputs": "The capital of France is", "stream": True})
    assert response.status == 200
    received = []
    for _ in EVENTS:
        received.append(next_event(response))
        private_door.release.put(None)
    assert received == EVENTS


def test_a_streamed_answer_keeps_its_content_type(forwarder: str, private_door: FakeDoor) -> None:
    private_door.plays.append(Play(200, SSE, events=EVENTS[:1]))
    response = post(f"{forwarder}/chat", {"messages": [], "stream": True})
    response.read()
    assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"


def test_a_caller_that_leaves_mid_stream_ends_the_doors_request(
    forwarder: str, private_door: FakeDoor
) -> None:
    private_door.plays.append(Play(200, SSE, events=EVENTS[:1] * 200))
    response = post(f"{forwarder}/generate", {"inputs": "Hi", "stream": True})
    next_event(response)
    response.close()
    for _ in range(199):
        private_door.release.put(None)
    assert private_door.caller_left.wait(timeout=10)


def test_the_wake_503_passes_through_with_retry_after_and_its_body(
    forwarder: str, private_door: FakeDoor
) -> None:
    headers = {"Content-Type": "application/json", "Retry-After": "60", "x-request-id": "r-1"}
    private_door.plays.append(Play(503, headers, WAKE_BODY))
    response = post(f"{forwarder}/generate", {"inputs": "Hi"})
    assert (response.status, response.getheader("Retry-After"), response.read()) == (503, "60", WAKE_BODY)


def test_the_doors_own_refusal_passes_through(forwarder: str, private_door: FakeDoor) -> None:
    body = b'{"Message":"User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized"}'
    private_door.plays.append(Play(403, {"Content-Type": "application/json"}, body))
    response = post(f"{forwarder}/generate", {"inputs": "Hi"})
    assert (response.status, response.read()) == (403, body)


def test_the_openapi_document_is_answered_locally(forwarder: str, private_door: FakeDoor) -> None:
    from invoke_proxy.openapi import load_openapi

    with urllib.request.urlopen(f"{forwarder}/openapi.json", timeout=10) as answer:
        assert json.load(answer) == load_openapi()
    assert private_door.requests == []


def test_the_chat_page_is_answered_locally(forwarder: str, private_door: FakeDoor) -> None:
    with urllib.request.urlopen(f"{forwarder}/", timeout=10) as answer:
        assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
        assert answer.read().startswith(b"<!")
    assert private_door.requests == []


def test_an_unreachable_door_is_a_502_in_the_proxys_error_shape(private_door: FakeDoor) -> None:
    private_door.server_close()  # nothing listens on its port any more
    for url in forwarder_for(PRIVATE_API, private_door):
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"{url}/health", timeout=10)
        assert raised.value.code == 502
        assert json.load(raised.value)["error"]["type"] == "door_unreachable"


def test_the_openai_sdk_without_a_signer_streams_through_the_forwarder(
    forwarder: str, private_door: FakeDoor
) -> None:
    openai = pytest.importorskip("openai")
    chunks = [
        {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice]}
        for choice in (
            {"index": 0, "delta": {"role": "assistant", "content": "Bon"}, "finish_reason": None},
            {"index": 0, "delta": {"content": "jour"}, "finish_reason": "stop"},
        )
    ]
    events = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]
    private_door.plays.append(Play(200, SSE, events=events))
    for _ in events:
        private_door.release.put(None)
    client = openai.OpenAI(base_url=f"{forwarder}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == "Bonjour"
    assert private_door.requests[0].path == "/prod/v1/chat/completions"


# --- the command line --------------------------------------------------------------------------------------


def test_serve_with_a_url_forwards_from_a_subprocess(private_door: FakeDoor) -> None:
    """``mistral-invoke serve --url`` end to end: here the door's URL is the loopback one, so the service and
    region come from the flags."""
    private_door.url = f"http://127.0.0.1:{private_door.port}/"  # the signature covers the loopback host
    private_door.plays.append(Play(200, {"Content-Type": "application/json"}, b'{"status": "ok"}'))
    door_url = f"http://127.0.0.1:{private_door.port}/prod/"
    command = [sys.executable, "-m", "mistral_client.cli", "serve", "--port", "0", "--region", "eu-west-1"]
    process = subprocess.Popen(  # the environment: the static credentials the CLI tests' fixture sets
        [*command, "--url", door_url, "--service", "execute-api"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(r"Forwarding to (\S+) \(signed for execute-api in eu-west-1\) on (\S+)\n", line)
        assert found and found[1] == door_url, line
        with urllib.request.urlopen(f"{found[2]}health", timeout=10) as answer:
            assert json.load(answer) == {"status": "ok"}
        assert private_door.requests[0].path == "/prod/health"
        assert private_door.signed_correctly(private_door.requests[0])
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[door_forward.DoorForwarder]:
    """Forwarders ``serve`` builds, recorded instead of served."""
    built: list[door_forward.DoorForwarder] = []

    def record(self: door_forward.DoorForwarder, poll_interval: float = 0.5) -> None:
        built.append(self)

    monkeypatch.setattr(door_forward.DoorForwarder, "serve_forever", record)
    return built


def test_serve_door_private_fronts_the_stacks_private_api(
    run: Run, cloudformation: Stubber, no_serving: list[door_forward.DoorForwarder]
) -> None:
    outputs = {"InvokeUrl": FUNCTION_URL, "PrivateApiUrl": PRIVATE_API, "Region": "eu-west-1"}
    cloudformation.add_response("describe_stacks", stack_description(outputs))
    code, out, err = run("serve", "--stack", STACK, "--door", "private", "--port", "0")
    assert code == 0, err
    assert out.startswith(f"Forwarding to {PRIVATE_API} (signed for execute-api in eu-west-1) on ")
    assert no_serving[0].target.url == PRIVATE_API


def test_serve_with_a_door_and_an_endpoint_name_is_a_clear_error(run: Run) -> None:
    code, _, err = run("serve", "--url", PRIVATE_API, "--endpoint-name", "ep")
    assert code == 1
    assert "pick one way" in err
