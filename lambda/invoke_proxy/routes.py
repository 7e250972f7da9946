"""The registry: each route's path, the methods it answers and its handler, in one table.

A handler takes the request record, the configuration and the collaborators, and returns an ``Answer`` (or
raises ``ProxyError``, or ``Failed`` with the log fields it had gathered). Adding a route is one row here and
its handler in a module of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import chat, generate, health, openai_chat
from .collaborators import Collaborators
from .config import Config
from .errors import ProxyError
from .model_route import ModelRoute
from .paths import CHAT, GENERATE, HEALTH, OPENAI_CHAT
from .records import Answer, Request

Handler = Callable[[Request, Config, Collaborators], Answer]


class Route(NamedTuple):
    methods: tuple[str, ...]
    handler: Handler


REGISTRY: dict[str, Route] = {
    GENERATE: Route(("POST",), ModelRoute(generate.prepare, generate.answer)),
    CHAT: Route(("POST",), ModelRoute(chat.prepare, chat.answer)),
    OPENAI_CHAT: Route(("POST",), ModelRoute(openai_chat.prepare, openai_chat.answer)),
    HEALTH: Route(("GET", "HEAD"), health.handle),
}

#: Each route's methods (what the metrics' Route dimension and the 404 message list).
ROUTES: dict[str, tuple[str, ...]] = {path: route.methods for path, route in REGISTRY.items()}


def find(route: str, method: str) -> Handler:
    """The handler for ``method`` on ``route``; a 404 for an unknown route, a 405 naming the allowed methods."""
    entry = REGISTRY.get(route)
    if entry is None:
        raise ProxyError(
            404,
            "not_found",
            f"No route {route!r}. Routes: {', '.join(f'{m[0]} {p}' for p, m in ROUTES.items())}.",
        )
    if method not in entry.methods:
        raise ProxyError(
            405,
            "method_not_allowed",
            f"{route} accepts {' or '.join(entry.methods)}, not {method}.",
            headers={"Allow": ", ".join(entry.methods)},
        )
    return entry.handler
