"""``POST /chat``: ``messages`` rendered in the Mistral Instruct format; the answer is the assistant's message
(without a matched stop sequence) and TGI's finish reason (streamed: ``stream_events.ChatEvents``)."""

from __future__ import annotations

from .config import Config
from .errors import invalid
from .paths import CHAT, GENERATE
from .prompt import parse_messages, render_mistral_instruct
from .tgi import JsonObject, ModelCall, details_of, model_call, strip_stop
from .validation import CHAT_PARAMETERS, check_streamable, known_fields, stream_flag, validate_parameters


def require_chat(config: Config) -> None:
    """A base model has no chat format: its endpoint serves ``/generate`` only."""
    if not config.chat_enabled:
        raise invalid(
            f"This endpoint serves a base model (PROMPT_FORMAT none), which has no chat format: "
            f"use POST {GENERATE} with your own prompt in inputs.",
        )


def prepare(data: JsonObject, config: Config) -> ModelCall:
    require_chat(config)
    data = known_fields(data, ("messages", "parameters", "stream"), "field")
    stream = stream_flag(data)
    if "messages" not in data:
        raise invalid("messages is required: an array of {role, content} objects.", "messages")
    prompt = render_mistral_instruct(parse_messages(data["messages"]))
    params = validate_parameters(data.get("parameters"), config, CHAT_PARAMETERS)
    if stream:
        check_streamable(params, "parameters.")
    params["return_full_text"] = False
    return model_call(CHAT, prompt, params, stream=stream)


def answer(
    call: ModelCall, generated: JsonObject, config: Config, request_id: str, created: int
) -> JsonObject:
    details = details_of(generated)
    content = strip_stop(generated["generated_text"], details, call.stop)
    body: JsonObject = {"message": {"role": "assistant", "content": content}}
    finish = details.get("finish_reason")
    if finish is not None:
        body["finish_reason"] = finish
    if call.caller_wants_details and details:
        body["details"] = details
    return body
