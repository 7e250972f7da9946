"""The chat page in a real headless Chromium (Debian's ``chromium``), driven by Playwright for Python, against
``mistral-invoke serve``'s HTTP app (in-process) over the SageMaker stand-in.

Playwright's own browser download is not used: the tests launch the system's Chromium. When Playwright or
Chromium is missing the tests fail, saying what is missing and how to install it; they never skip.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from browser_helpers import ACTION_TIMEOUT_MS, PageFactory, chromium_path, playwright_or_fail

from mistral_client.standin import StandIn


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the run: all the browser tests live in one module, and the browser goes with
    it (a sync Playwright keeps an asyncio loop running in this thread, which would break any later test's
    ``asyncio.run``)."""
    sync_playwright = playwright_or_fail()
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture(scope="module")
def app_url(stand_in: StandIn) -> Iterator[str]:
    """``serve``'s HTTP app (the proxy, its OpenAPI document and the chat page) over the stand-in."""
    from invoke_proxy.config import load_config
    from invoke_proxy.core import Proxy
    from invoke_proxy.sagemaker import create_client
    from mistral_client.serve import local_app

    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        env.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        env.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
        config = load_config({"ENDPOINT_NAME": stand_in.endpoint_name, "AWS_REGION": "us-east-1"})
        server = local_app(Proxy(config, create_client(config)), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def open_page(browser: Any, app_url: str, stand_in: StandIn) -> Iterator[PageFactory]:
    """Opens the chat page in a fresh browser context (``fake_clock=True``: Playwright's clock, installed
    before the page loads, so a test moves the page's timers on by hand). Fails the test on any page error
    or Content-Security-Policy violation."""
    stand_in.reset()
    contexts: list[Any] = []
    problems: list[str] = []

    def open_(*, fake_clock: bool = False) -> Any:
        context = browser.new_context()
        contexts.append(context)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        if fake_clock:
            page.clock.install()
        page.goto(app_url)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems == []


@pytest.fixture
def page(open_page: PageFactory) -> Any:
    return open_page()
