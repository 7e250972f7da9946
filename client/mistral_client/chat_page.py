"""The chat page ``mistral-invoke serve`` answers at ``/``: one self-contained HTML file (``chat_page.html``,
package data: its style and script inline, no CDN, no build step, no font or script from elsewhere).

It talks to the proxy it is served by (``POST /chat`` with ``"stream": true``), so its Content-Security-Policy
admits nothing but its own inline script and style, by hash, and connections back to the same origin.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

#: Where ``serve`` answers with the page.
CHAT_PAGE_PATH = "/"
PAGE_RESOURCE = "chat_page.html"

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def source_hashes(page: str, tag: str) -> list[str]:
    """CSP hash sources (``'sha256-...'``) of each inline ``<script>`` or ``<style>`` element of ``page``."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for found, body in _INLINE.findall(page)
        if found == tag
    ]


def content_security_policy(page: str) -> str:
    """Nothing by default; the page's own inline script and style (by hash); fetches to the same origin only."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(source_hashes(page, "script")),
            "style-src " + " ".join(source_hashes(page, "style")),
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@functools.cache
def chat_page() -> tuple[bytes, dict[str, str]]:
    """The page's bytes and the headers it is served with."""
    page = resources.files("mistral_client").joinpath(PAGE_RESOURCE).read_text(encoding="utf-8")
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(page),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return page.encode("utf-8"), headers
