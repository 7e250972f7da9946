"""``GET /health`` (and ``HEAD``): the deployment's model, routes and limits; it never calls the model."""

from __future__ import annotations

from .collaborators import Collaborators
from .config import MAX_BEST_OF, MAX_REQUEST_BYTES, MAX_STOP_SEQUENCES, MAX_TOP_N_TOKENS, Config
from .paths import CHAT, GENERATE, HEALTH, OPENAI_CHAT
from .records import Answer, JsonObject, Request, Response


def handle(request: Request, config: Config, services: Collaborators) -> Answer:
    return Answer(Response(200, body(config), {}), {})


def body(config: Config) -> JsonObject:
    routes = [GENERATE, HEALTH]
    if config.chat_enabled:
        routes[1:1] = [CHAT, OPENAI_CHAT]
    return {
        "status": "ok",
        "model_id": config.model_id,
        "endpoint_name": config.endpoint_name,
        "prompt_format": config.prompt_format,
        "routes": routes,
        "limits": {
            "max_input_length": config.max_input_length,
            "max_total_tokens": config.max_total_tokens,
            "max_new_tokens": config.max_new_tokens_limit,
            "default_max_new_tokens": config.default_max_new_tokens,
            "max_stop_sequences": MAX_STOP_SEQUENCES,
            "max_best_of": MAX_BEST_OF,
            "max_top_n_tokens": MAX_TOP_N_TOKENS,
            "max_request_bytes": MAX_REQUEST_BYTES,
        },
    }
