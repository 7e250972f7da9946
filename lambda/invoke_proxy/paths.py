"""The proxy's route paths: the URLs of its HTTP API (one name each, read by the routes, health and metrics)."""

from __future__ import annotations

GENERATE = "/generate"
CHAT = "/chat"
OPENAI_CHAT = "/v1/chat/completions"
HEALTH = "/health"


def normalize_path(path: str) -> str:
    """A request's path as a route: one trailing slash is ignored (``/generate/`` is ``/generate``)."""
    if len(path) > 1 and path.endswith("/"):
        return path[:-1]
    return path
