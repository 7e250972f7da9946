"""``POST /v1/chat/completions``: OpenAI's chat completions format, in and out (``chat.completion``, or
``chat.completion.chunk`` events then ``[DONE]`` when streamed: ``stream_events.OpenAIChunks``).

OpenAI's API takes null for every optional field as "not set", as TGI does: a field this proxy does not
implement (frequency_penalty, tools, user...) is dropped when null and refused with a value.
"""

from __future__ import annotations

from .chat import require_chat
from .config import Config
from .errors import invalid
from .paths import OPENAI_CHAT
from .prompt import parse_messages, render_mistral_instruct
from .tgi import JsonObject, ModelCall, details_of, model_call, strip_stop, token_counts
from .validation import F32_MAX, U64_MAX, as_f32, f32_note, json_type, known_fields, stop_list, stream_flag

FIELDS = (
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "n",
    "stream",
    "stream_options",
)
FINISH_REASONS = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}


def prepare(data: JsonObject, config: Config) -> ModelCall:
    require_chat(config)
    data = known_fields(data, FIELDS, "field")
    stream = stream_flag(data)
    include_usage = _include_usage(data, stream)
    if "model" in data and not isinstance(data["model"], str):
        raise invalid(f"model must be a string, not {json_type(data['model'])}.", "model")
    n = data.get("n")
    if n is not None and (type(n) is not int or n != 1):
        raise invalid("n must be 1: this model returns one choice per request.", "n")
    if "messages" not in data:
        raise invalid("messages is required.", "messages")
    prompt = render_mistral_instruct(parse_messages(data["messages"], openai=True))
    params: JsonObject = {"return_full_text": False, "max_new_tokens": _max_new_tokens(data, config)}
    params.update(_sampling(data))
    stops = _stops(data.get("stop"))
    if stops:
        params["stop"] = stops
    seed = data.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= U64_MAX:
            raise invalid(f"seed must be an integer from 0 to {U64_MAX}.", "seed")
        params["seed"] = seed
    return model_call(OPENAI_CHAT, prompt, params, stops, stream=stream, include_usage=include_usage)


def _include_usage(data: JsonObject, stream: bool) -> bool:
    """OpenAI's ``stream_options``: only with stream true; ``include_usage`` is its one option here."""
    options = data.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise invalid("stream_options is only allowed when stream is true.", "stream_options")
    if not isinstance(options, dict):
        raise invalid(f"stream_options must be an object, not {json_type(options)}.", "stream_options")
    options = known_fields(options, ("include_usage",), "stream option", "stream_options.")
    wanted = options.get("include_usage")
    if wanted is None:
        return False
    if not isinstance(wanted, bool):
        raise invalid(
            f"stream_options.include_usage must be true or false, not {json_type(wanted)}.",
            "stream_options.include_usage",
        )
    return wanted


def _max_new_tokens(data: JsonObject, config: Config) -> int:
    limits: list[int] = []
    for name in ("max_tokens", "max_completion_tokens"):  # each checked, even when both are sent
        limit = data.get(name)
        if limit is None:
            continue
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= config.max_new_tokens_limit
        ):
            raise invalid(
                f"{name} must be an integer from 1 to {config.max_new_tokens_limit} "
                "(input tokens + max_tokens must fit MAX_TOTAL_TOKENS).",
                name,
            )
        limits.append(limit)
    if len(set(limits)) > 1:
        raise invalid(
            "Send max_tokens or max_completion_tokens, not both with different values.", "max_tokens"
        )
    return limits[0] if limits else config.default_max_new_tokens


def _optional_number(data: JsonObject, name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > F32_MAX:
        raise invalid(f"{name} must be a number, not {json_type(value)}.", name)
    return float(value)


def _sampling(data: JsonObject) -> JsonObject:
    """``do_sample``, ``temperature`` and ``top_p`` for TGI from OpenAI's temperature and top_p."""
    # OpenAI samples at temperature 1 by default and reads temperature 0 as greedy; TGI rejects 0, so 0 maps
    # to greedy decoding (do_sample false) rather than to an error.
    # TGI reads both as 32-bit floats: ranges are checked on the value it will read.
    params: JsonObject = {}
    temperature = _optional_number(data, "temperature")
    if temperature is not None:
        rounded = as_f32(temperature)
        if not 0 <= rounded <= 2:
            raise invalid("temperature must be between 0 and 2.", "temperature")
        if rounded == 0 < temperature:
            raise invalid(
                f"temperature must be 0 (greedy decoding) or large enough to sample with"
                f"{f32_note(temperature, rounded)}: send 0, or a larger temperature.",
                "temperature",
            )
    if temperature == 0:
        params["do_sample"] = False
    else:
        params["do_sample"] = True
        if temperature is not None:
            params["temperature"] = temperature
    top_p = _optional_number(data, "top_p")
    if top_p is not None:
        rounded = as_f32(top_p)
        if not 0 < rounded <= 1:
            raise invalid(
                f"top_p must be above 0 and at most 1 (TGI rejects 0){f32_note(top_p, rounded)}; for greedy "
                "decoding set temperature 0.",
                "top_p",
            )
        # 1 (or 0.99999999999, 1.0 as a 32-bit float) means no nucleus filtering, which TGI expresses by
        # omitting top_p (it rejects 1.0). With temperature 0 greedy decoding wins: a top_p would make TGI sample.
        if rounded < 1 and temperature != 0:
            params["top_p"] = top_p
    return params


def _stops(stop: object) -> list[str]:
    if isinstance(stop, str):
        return stop_list([stop], "stop")
    if isinstance(stop, list):
        return stop_list(stop, "stop")
    if stop is not None:
        raise invalid(f"stop must be a string or an array of strings, not {json_type(stop)}.", "stop")
    return []


def usage(details: JsonObject) -> JsonObject:
    """OpenAI's usage object, with the counts TGI's details give (a total only when both are known)."""
    counts = token_counts(details)
    result: JsonObject = dict(counts)
    if "prompt_tokens" in counts and "completion_tokens" in counts:
        result["total_tokens"] = counts["prompt_tokens"] + counts["completion_tokens"]
    return result


def answer(
    call: ModelCall, generated: JsonObject, config: Config, request_id: str, created: int
) -> JsonObject:
    details = details_of(generated)
    content = strip_stop(generated["generated_text"], details, call.stop)
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": created,
        "model": config.model_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": FINISH_REASONS.get(str(details.get("finish_reason")), "stop"),
                "logprobs": None,
            }
        ],
        "usage": usage(details),
    }
