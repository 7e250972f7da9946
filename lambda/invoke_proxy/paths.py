"""The proxy's route paths: the URLs of its HTTP API (one name each, read by the routes, health and metrics).

The paths themselves are the contract's (``contract.py``), which the client and the constructs (the Web
Adapter's readiness check) read too; this module names them for the runtime and normalizes a request's path.
"""

from __future__ import annotations

from .contract import CHAT, GENERATE, HEALTH, OPENAI_CHAT

__all__ = ["CHAT", "GENERATE", "HEALTH", "OPENAI_CHAT", "normalize_path"]


def normalize_path(path: str) -> str:
    """A request's path as a route: one trailing slash is ignored (``/generate/`` is ``/generate``)."""
    if len(path) > 1 and path.endswith("/"):
        return path[:-1]
    return path
