"""`mistral-invoke serve` answers `GET /` with the chat page: one self-contained HTML file under a strict
Content-Security-Policy. (The page itself, in a browser: tests/browser/test_chat_page.py.)"""

from __future__ import annotations

import re
import threading
import urllib.request
from collections.abc import Iterator
from importlib import resources

import pytest
from cli_helpers import serve_subprocess

from mistral_client.chat_page import source_hashes

PAGE = resources.files("mistral_client").joinpath("chat_page.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    """serve's HTTP app in-process; the page needs no SageMaker client."""
    from invoke_proxy.config import load_config
    from invoke_proxy.core import Proxy
    from mistral_client.serve import local_app

    config = load_config({"ENDPOINT_NAME": "dev-ep", "AWS_REGION": "us-east-1"})
    server = local_app(Proxy(config, client=None), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def test_serve_answers_the_root_with_the_chat_page_as_html(app: str) -> None:
    with urllib.request.urlopen(f"{app}/", timeout=10) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.read().decode("utf-8") == PAGE


def test_head_on_the_root_answers_the_pages_headers_without_a_body(app: str) -> None:
    request = urllib.request.Request(f"{app}/", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert int(response.headers["Content-Length"]) == len(PAGE.encode("utf-8"))
        assert response.read() == b""


def test_the_pages_policy_admits_only_its_own_inline_script_and_style_and_same_origin_fetches(
    app: str,
) -> None:
    with urllib.request.urlopen(f"{app}/", timeout=10) as response:
        policy = csp_directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["script-src"] == source_hashes(PAGE, "script") and len(policy["script-src"]) == 1
    assert policy["style-src"] == source_hashes(PAGE, "style") and len(policy["style-src"]) == 1


def test_a_post_to_the_root_is_the_proxys_to_answer(app: str) -> None:
    request = urllib.request.Request(f"{app}/", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.headers["Content-Type"] == "application/json"


def test_the_page_loads_nothing_from_elsewhere() -> None:
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=|@import|url\(", PAGE)
    assert not re.search(r"https?://", PAGE)


def test_the_page_never_writes_text_as_html() -> None:
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", PAGE)


def test_serve_says_where_the_chat_page_is() -> None:
    with serve_subprocess("http://127.0.0.1:9") as (url, process):
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(2)]
    assert f"Chat page: {url}\n" in lines
