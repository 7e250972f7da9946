"""The chat page ``mistral-invoke serve`` serves at ``/``, in headless Chromium against the proxy over the
SageMaker stand-in: it streams, stops, shows the proxy's errors and waits for a model that wakes from zero.

Scripted answers (``StandIn.stream``) with ``threading.Event`` steps let a test decide when the model sends each
token, so "one by one" is observed, not inferred from timing.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import PageFactory, chromium_path, playwright_or_fail
from sse_client import SseResponse

from invoke_proxy.prompt import render_mistral_instruct
from mistral_client import eventstream
from mistral_client.standin import StandIn, endless_tokens, sse_bytes, tgi_token, tokens_script

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture fails every test here, saying how to install Playwright
    expect = None  # type: ignore[assignment]

# SageMaker's wording while an inference component has no copy (AWS Machine Learning Blog, 2024-12).
NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)


def send(page: Any, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def answer(page: Any) -> Any:
    return page.locator(".turn.assistant .text").last


def stats(page: Any) -> Any:
    return page.locator(".turn.assistant .stats").last


def eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def proxy_error(app_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """The proxy's own 4xx answer to ``body`` on /chat, asked directly."""
    request = urllib.request.Request(
        app_url + "chat", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as refused:
        return dict(json.load(refused))
    raise AssertionError("the proxy accepted the request")


# --- streaming ----------------------------------------------------------------------------------------------


def test_tokens_appear_one_by_one_as_the_model_sends_them(page: Any, stand_in: StandIn) -> None:
    texts = [" The", " mistral", " is", " a", " wind."]
    gates = [threading.Event() for _ in texts]
    stand_in.stream(
        *[step for gate, part in zip(gates, tokens_script(texts), strict=True) for step in (gate, part)]
    )
    send(page, "What is the mistral?")
    snapshots = []
    try:
        for count, gate in enumerate(gates, start=1):
            gate.set()
            expect(answer(page)).to_have_text("".join(texts[:count]).lstrip())
            snapshots.append(answer(page).text_content())
    finally:
        for gate in gates:
            gate.set()
    assert snapshots == ["The", "The mistral", "The mistral is", "The mistral is a", "The mistral is a wind."]


def test_each_answer_shows_time_to_first_token_and_tokens_per_second(page: Any, stand_in: StandIn) -> None:
    parts = tokens_script([" One", " two", " three", " four."])
    stand_in.stream(0.05, parts[0], 0.05, parts[1], 0.05, parts[2], 0.05, parts[3])
    send(page, "Count to four.")
    expect(stats(page)).to_have_text(re.compile(r"^first token \d+ ms · \d+\.\d tokens/s · 4 tokens$"))
    first_token_ms = int(re.findall(r"first token (\d+) ms", stats(page).text_content())[0])
    assert first_token_ms >= 40  # the model's 50 ms before its first token, measured from the request


def test_the_whole_conversation_goes_with_each_turn(page: Any, stand_in: StandIn) -> None:
    page.get_by_label("System prompt").fill("Answer briefly.")
    stand_in.stream(*tokens_script([" A", " cold", " wind."]))
    stand_in.stream(*tokens_script([" In", " winter."]))
    send(page, "What is the mistral?")
    expect(stats(page)).to_have_count(1)
    send(page, "When does it blow?")
    expect(page.locator(".turn.assistant .stats")).to_have_count(2)
    assert stand_in.bodies[1]["inputs"] == render_mistral_instruct(
        [
            ("system", "Answer briefly."),
            ("user", "What is the mistral?"),
            ("assistant", " A cold wind."),
            ("user", "When does it blow?"),
        ]
    )


def test_temperature_and_max_tokens_go_with_the_request(page: Any, stand_in: StandIn) -> None:
    page.get_by_label("Temperature").fill("0.3")
    page.get_by_label("Max tokens").fill("64")
    stand_in.stream(*tokens_script([" Yes."]))
    send(page, "Ready?")
    expect(stats(page)).to_be_visible()
    parameters = stand_in.bodies[0]["parameters"]
    assert (parameters["temperature"], parameters["max_new_tokens"]) == (0.3, 64)


def test_temperature_0_asks_for_a_greedy_answer(page: Any, stand_in: StandIn) -> None:
    page.get_by_label("Temperature").fill("0")
    stand_in.stream(*tokens_script([" Yes."]))
    send(page, "Ready?")
    expect(stats(page)).to_be_visible()
    parameters = stand_in.bodies[0]["parameters"]
    assert "temperature" not in parameters and not parameters.get("do_sample")


def test_enter_sends_and_shift_enter_starts_a_new_line(page: Any, stand_in: StandIn) -> None:
    stand_in.stream(*tokens_script([" Two", " lines."]))
    box = page.get_by_label("Message", exact=True)
    box.press_sequentially("line one")
    box.press("Shift+Enter")
    box.press_sequentially("line two")
    box.press("Enter")
    expect(stats(page)).to_be_visible()
    assert stand_in.bodies[0]["inputs"] == render_mistral_instruct([("user", "line one\nline two")])


def test_model_text_is_shown_as_text_never_as_html(page: Any, stand_in: StandIn) -> None:
    texts = ['<img src=x onerror="window.injected=1">', "<b>bold</b>"]
    stand_in.stream(*tokens_script(texts))
    send(page, "Say some HTML.")
    expect(answer(page)).to_have_text("".join(texts))
    assert answer(page).locator("*").count() == 0
    assert page.evaluate("window.injected") is None


# --- stop ----------------------------------------------------------------------------------------------------


def test_stop_ends_the_answer_and_closes_the_models_stream(page: Any, stand_in: StandIn) -> None:
    stand_in.stream(*endless_tokens(pause=0.03))
    send(page, "Go on and on.")
    expect(answer(page)).to_contain_text("word word word")
    page.get_by_role("button", name="Stop").click()
    assert stand_in.stream_closed.wait(5), "the proxy kept reading the model's stream"
    assert not stand_in.finished.is_set()
    expect(stats(page)).to_contain_text("stopped")
    stopped_at = answer(page).text_content()
    page.wait_for_timeout(300)
    assert answer(page).text_content() == stopped_at
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


# --- errors --------------------------------------------------------------------------------------------------


def test_a_validation_error_is_shown_as_the_proxy_wrote_it(
    page: Any, stand_in: StandIn, app_url: str
) -> None:
    page.get_by_label("Temperature").fill("0.7")
    page.get_by_label("Max tokens").fill("100000")
    send(page, "Hi")
    refused = proxy_error(
        app_url,
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "parameters": {"max_new_tokens": 100000, "temperature": 0.7},
            "stream": True,
        },
    )
    error = refused["error"]
    expect(page.get_by_role("alert")).to_have_text(f"400 {error['type']}: {error['message']}")
    assert stand_in.requests == []
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hi")  # back in the box, to send again


def test_an_error_event_mid_answer_is_shown_after_the_tokens_already_sent(
    page: Any, stand_in: StandIn, app_url: str
) -> None:
    script = [
        eventstream.payload_part(sse_bytes(tgi_token(" Par", 1))),
        eventstream.model_stream_error("The model stream broke.", "StreamBroken"),
    ]
    stand_in.stream(*script)
    direct = SseResponse(app_url, "/chat", {"messages": [{"role": "user", "content": "Hi"}], "stream": True})
    try:
        last = direct.json_events()[-1]
    finally:
        direct.close()
    stand_in.stream(*script)
    send(page, "Capital of France?")
    expect(page.get_by_role("alert")).to_have_text(f"{last['error']['type']}: {last['error']['message']}")
    expect(answer(page)).to_have_text("Par")


# --- a model that scaled to zero ------------------------------------------------------------------------------


def test_the_page_waits_while_the_model_wakes_and_retries_by_itself(
    open_page: PageFactory, stand_in: StandIn
) -> None:
    page = open_page(fake_clock=True)
    stand_in.error(400, "ValidationError", {"Message": NO_CAPACITY})
    stand_in.error(400, "ValidationError", {"Message": NO_CAPACITY})
    stand_in.stream(*tokens_script([" Awake", " now."]))
    send(page, "Hello?")
    wait = page.locator("#wait")
    expect(wait).to_be_visible()
    expect(wait).to_contain_text("The model is starting from zero instances")
    expect(wait).to_contain_text("Next try in 1 min 0 s")  # the proxy's Retry-After: 60
    page.clock.run_for(60_000)
    eventually(lambda: len(stand_in.requests) == 2)
    expect(wait).to_be_visible()
    expect(wait).to_contain_text("waited 1 min 0 s so far")
    page.clock.run_for(60_000)
    expect(answer(page)).to_have_text("Awake now.")
    expect(wait).to_be_hidden()
    assert len(stand_in.requests) == 3


def test_cancel_ends_the_wait_for_the_model(open_page: PageFactory, stand_in: StandIn) -> None:
    page = open_page(fake_clock=True)
    stand_in.error(400, "ValidationError", {"Message": NO_CAPACITY})
    send(page, "Hello?")
    expect(page.locator("#wait")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#wait")).to_be_hidden()
    expect(page.locator(".turn.assistant .note")).to_have_text("Stopped waiting for the model.")
    page.clock.run_for(120_000)
    assert len(stand_in.requests) == 1
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


# --- what the tests need --------------------------------------------------------------------------------------


def test_without_chromium_the_browser_tests_fail_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"need Chromium.*apt-get install -y chromium.*make test"):
        chromium_path()


def test_without_playwright_the_browser_tests_fail_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # as if not installed: import fails
    with pytest.raises(pytest.fail.Exception, match=r"need Playwright for Python.*make test"):
        playwright_or_fail()
