"""What the browser tests need, found or failed for clearly: Playwright for Python and Debian's Chromium.

Playwright's own browser download is not used (nor reachable from every machine): the tests launch the system's
``chromium``. Missing either, the tests fail saying what to install; they never skip.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest

SETUP_HINT = "`make test` installs both (Playwright in the venv, chromium with apt-get)"
ACTION_TIMEOUT_MS = (
    5_000  # each Playwright action and expectation; the tests' answers take well under a second
)

#: Opens the chat page in a fresh browser context: ``open_page(fake_clock=False) -> Page``.
PageFactory = Callable[..., Any]


def chromium_path() -> str:
    """Debian's ``chromium`` (``/usr/bin/chromium``), or a Chromium named ``chromium`` on the PATH."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "The chat page's browser tests need Chromium, and `chromium` is not on the PATH. Install Debian's "
            f"package: `sudo apt-get install -y chromium` ({SETUP_HINT}).",
            pytrace=False,
        )
    return found


def playwright_or_fail() -> Any:
    """Playwright's ``sync_playwright``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "The chat page's browser tests need Playwright for Python, which is not installed: "
            f"`.venv/bin/pip install -r requirements-dev.txt` ({SETUP_HINT}).",
            pytrace=False,
        )
    return sync_playwright
