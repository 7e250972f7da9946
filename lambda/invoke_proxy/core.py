"""The transport-independent proxy: route, validate, build the prompt and TGI payload, invoke, map the answer.

Transports hand it a method, a path and the raw body, and turn its answer back into their own shape: the
buffered function URL adapter (``function_url.py``) calls ``Proxy.handle`` and gets a ``Response``; the HTTP
app behind the Lambda Web Adapter (``http_server.py``, also ``mistral-invoke serve``) calls ``Proxy.open``,
which answers ``"stream": true`` requests with a ``TokenStream`` of server-sent events (``streaming.py``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .config import (
    MAX_BEST_OF,
    MAX_REQUEST_BYTES,
    MAX_STOP_SEQUENCES,
    MAX_TOP_N_TOKENS,
    SAGEMAKER_MAX_PAYLOAD_BYTES,
    Config,
)
from .errors import ProxyError, invalid
from .metrics import write_request_metrics
from .prompt import parse_messages, render_mistral_instruct
from .sagemaker import invoke
from .validation import (
    CHAT_PARAMETERS,
    F32_MAX,
    GENERATE_PARAMETERS,
    U64_MAX,
    JsonObject,
    as_f32,
    check_streamable,
    f32_note,
    json_type,
    known_fields,
    non_empty_string,
    parse_json_object,
    stop_list,
    stream_flag,
    validate_parameters,
)

if TYPE_CHECKING:
    from .streaming import TokenStream

LOG = logging.getLogger("invoke_proxy")
if not os.environ.get("AWS_LAMBDA_LOG_LEVEL"):
    # Lambda's JSON logging sets the level from the function's ApplicationLogLevel; elsewhere default to INFO.
    LOG.setLevel(logging.INFO)

GENERATE = "/generate"
CHAT = "/chat"
OPENAI_CHAT = "/v1/chat/completions"
HEALTH = "/health"

ROUTES: dict[str, tuple[str, ...]] = {
    GENERATE: ("POST",),
    CHAT: ("POST",),
    OPENAI_CHAT: ("POST",),
    HEALTH: ("GET", "HEAD"),
}

OPENAI_FIELDS = (
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
FINISH_REASONS_OPENAI = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}


class Response(NamedTuple):
    status: int
    body: JsonObject
    headers: dict[str, str]


class ModelCall(NamedTuple):
    """A validated request, ready for TGI."""

    route: str
    inputs: str
    parameters: JsonObject  # as sent to TGI: details is always requested, for token counts and finish reasons
    caller_wants_details: bool
    stop: tuple[str, ...]
    stream: bool = False  # the caller asked for server-sent events
    include_usage: bool = False  # OpenAI stream_options.include_usage: a final usage chunk

    def payload(self) -> bytes:
        request: JsonObject = {"inputs": self.inputs, "parameters": self.parameters}
        if self.stream:
            request["stream"] = True
        body = json.dumps(request, ensure_ascii=False)
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(
                "The request holds an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape without its pair); "
                "send valid Unicode text."
            ) from None
        if len(data) > SAGEMAKER_MAX_PAYLOAD_BYTES:
            raise ProxyError(
                413,
                "payload_too_large",
                f"The prompt built from this request is {len(data)} bytes; SageMaker accepts at most "
                f"{SAGEMAKER_MAX_PAYLOAD_BYTES}.",
            )
        return data


def prepare(route: str, body: bytes, config: Config) -> ModelCall:
    """Validate a model route's body and build the TGI request. Raises ProxyError (4xx) on bad input."""
    if len(body) > MAX_REQUEST_BYTES:
        raise ProxyError(
            413,
            "payload_too_large",
            f"The request body is {len(body)} bytes; this proxy accepts at most {MAX_REQUEST_BYTES}.",
        )
    data = parse_json_object(body)
    if route == GENERATE:
        return _prepare_generate(data, config)
    if not config.chat_enabled:
        raise invalid(
            f"This endpoint serves a base model (PROMPT_FORMAT none), which has no chat format: "
            f"use POST {GENERATE} with your own prompt in inputs.",
        )
    if route == CHAT:
        return _prepare_chat(data, config)
    return _prepare_openai(data, config)


def _with_details(
    route: str,
    inputs: str,
    params: JsonObject,
    stop: list[str] | None = None,
    *,
    stream: bool = False,
    include_usage: bool = False,
) -> ModelCall:
    wants = bool(params.get("details", False))
    sent = dict(params)
    sent["details"] = True
    return ModelCall(route, inputs, sent, wants, tuple(stop or params.get("stop", ())), stream, include_usage)


def _prepare_generate(data: JsonObject, config: Config) -> ModelCall:
    data = known_fields(data, ("inputs", "parameters", "stream"), "field")
    stream = stream_flag(data)
    if "inputs" not in data:
        raise invalid("inputs is required: the prompt text.", "inputs")
    inputs = non_empty_string(data["inputs"], "inputs")
    params = validate_parameters(data.get("parameters"), config, GENERATE_PARAMETERS)
    if stream:
        check_streamable(params, "parameters.")
    return _with_details(GENERATE, inputs, params, stream=stream)


def _prepare_chat(data: JsonObject, config: Config) -> ModelCall:
    data = known_fields(data, ("messages", "parameters", "stream"), "field")
    stream = stream_flag(data)
    if "messages" not in data:
        raise invalid("messages is required: an array of {role, content} objects.", "messages")
    prompt = render_mistral_instruct(parse_messages(data["messages"]))
    params = validate_parameters(data.get("parameters"), config, CHAT_PARAMETERS)
    if stream:
        check_streamable(params, "parameters.")
    params["return_full_text"] = False
    return _with_details(CHAT, prompt, params, stream=stream)


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
    usage = options.get("include_usage")
    if usage is None:
        return False
    if not isinstance(usage, bool):
        raise invalid(
            f"stream_options.include_usage must be true or false, not {json_type(usage)}.",
            "stream_options.include_usage",
        )
    return usage


def _optional_number(data: JsonObject, name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > F32_MAX:
        raise invalid(f"{name} must be a number, not {json_type(value)}.", name)
    return float(value)


def _prepare_openai(data: JsonObject, config: Config) -> ModelCall:
    # OpenAI's API takes null for every optional field as "not set", as TGI does: a field this proxy does not
    # implement (frequency_penalty, tools, user...) is dropped when null and refused with a value.
    data = known_fields(data, OPENAI_FIELDS, "field")
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
    params: JsonObject = {"return_full_text": False}

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
    params["max_new_tokens"] = limits[0] if limits else config.default_max_new_tokens

    # OpenAI samples at temperature 1 by default and reads temperature 0 as greedy; TGI rejects 0, so 0 maps
    # to greedy decoding (do_sample false) rather than to an error.
    # TGI reads both as 32-bit floats: ranges are checked on the value it will read.
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
    stop = data.get("stop")
    stops: list[str] = []
    if isinstance(stop, str):
        stops = stop_list([stop], "stop")
    elif isinstance(stop, list):
        stops = stop_list(stop, "stop")
    elif stop is not None:
        raise invalid(f"stop must be a string or an array of strings, not {json_type(stop)}.", "stop")
    if stops:
        params["stop"] = stops
    seed = data.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= U64_MAX:
            raise invalid(f"seed must be an integer from 0 to {U64_MAX}.", "seed")
        params["seed"] = seed
    return _with_details(OPENAI_CHAT, prompt, params, stops, stream=stream, include_usage=include_usage)


def strip_stop(text: str, details: JsonObject, stop: tuple[str, ...]) -> str:
    # TGI keeps the stop sequence in generated_text; chat answers, like OpenAI's, end before it.
    if details.get("finish_reason") == "stop_sequence":
        for sequence in stop:
            if text.endswith(sequence):
                return text[: -len(sequence)]
    return text


def token_counts(details: JsonObject) -> dict[str, int]:
    """The counts TGI's details give: generated tokens, and prompt tokens only with prefill details."""
    counts: dict[str, int] = {}
    if isinstance(details.get("generated_tokens"), int):
        counts["completion_tokens"] = details["generated_tokens"]
    prefill = details.get("prefill")
    if isinstance(prefill, list) and prefill:
        counts["prompt_tokens"] = len(prefill)
    return counts


def answer_body(call: ModelCall, answer: JsonObject, config: Config, request_id: str) -> JsonObject:
    """Shape TGI's answer for the route."""
    text: str = answer["generated_text"]
    details = answer.get("details") if isinstance(answer.get("details"), dict) else {}
    assert isinstance(details, dict)
    if call.route == GENERATE:
        body: JsonObject = {"generated_text": text}
        if call.caller_wants_details and details:
            body["details"] = details
        return body
    content = strip_stop(text, details, call.stop)
    finish = details.get("finish_reason")
    if call.route == CHAT:
        body = {"message": {"role": "assistant", "content": content}}
        if finish is not None:
            body["finish_reason"] = finish
        if call.caller_wants_details and details:
            body["details"] = details
        return body
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": config.model_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": FINISH_REASONS_OPENAI.get(str(finish), "stop"),
                "logprobs": None,
            }
        ],
        "usage": openai_usage(details),
    }


def openai_usage(details: JsonObject) -> JsonObject:
    """OpenAI's usage object, with the counts TGI's details give (a total only when both are known)."""
    counts = token_counts(details)
    usage: JsonObject = dict(counts)
    if "prompt_tokens" in counts and "completion_tokens" in counts:
        usage["total_tokens"] = counts["prompt_tokens"] + counts["completion_tokens"]
    return usage


def health_body(config: Config) -> JsonObject:
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


def normalize_path(path: str) -> str:
    if len(path) > 1 and path.endswith("/"):
        return path[:-1]
    return path


class Proxy:
    """The proxy for one container: configuration plus the SageMaker runtime client, both created once."""

    def __init__(
        self,
        config: Config,
        client: Any,
        *,
        sleep: Callable[[float], None] = time.sleep,
        logger: logging.Logger = LOG,
    ) -> None:
        self.config = config
        self.client = client
        self._sleep = sleep
        self._log = logger

    def handle(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None = None,
    ) -> Response:
        """Answer one request buffered: ``"stream": true`` is refused (400), as this transport cannot stream.

        Never raises: every failure becomes an error response without a stack trace.
        """
        answer = self._serve(method, path, body, request_id, remaining_ms, can_stream=False)
        assert isinstance(answer, Response)
        return answer

    def open(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None = None,
    ) -> Response | TokenStream:
        """Answer one request; a ``"stream": true`` one with a ``TokenStream`` once the model's first event has
        arrived (a failure before it is a plain error ``Response``). The transport iterates the stream's
        events, then closes it (also when the caller goes away); the stream writes the request's log line."""
        return self._serve(method, path, body, request_id, remaining_ms, can_stream=True)

    def _serve(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None,
        *,
        can_stream: bool,
    ) -> Response | TokenStream:
        started = time.perf_counter()
        route = normalize_path(path)
        fields: dict[str, Any] = {"request_id": request_id, "route": route, "method": method}
        try:
            answer = self._dispatch(
                method, route, body, request_id, remaining_ms, fields, can_stream, started
            )
            if not isinstance(answer, Response):
                return answer  # it logs the request when it ends
            response = answer
        except ProxyError as exc:
            fields.update(exc.log_fields)
            fields["error_type"] = exc.error_type
            response = Response(exc.status, exc.body(request_id), dict(exc.headers))
        except Exception:
            self._log.exception("unexpected failure", extra={"request_id": request_id, "route": route})
            error = ProxyError(
                500, "internal_error", "The proxy failed unexpectedly; its logs hold the details."
            )
            fields["error_type"] = error.error_type
            response = Response(500, error.body(request_id), {})
        fields["status"] = response.status
        fields["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        level = logging.ERROR if response.status >= 500 else logging.INFO
        self._log.log(level, "request", extra=fields)
        write_request_metrics(fields, endpoint_name=self.config.endpoint_name, routes=ROUTES)
        return response

    def _dispatch(
        self,
        method: str,
        route: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None,
        fields: dict[str, Any],
        can_stream: bool,
        started: float,
    ) -> Response | TokenStream:
        methods = ROUTES.get(route)
        if methods is None:
            raise ProxyError(
                404,
                "not_found",
                f"No route {route!r}. Routes: {', '.join(f'{m[0]} {p}' for p, m in ROUTES.items())}.",
            )
        if method not in methods:
            raise ProxyError(
                405,
                "method_not_allowed",
                f"{route} accepts {' or '.join(methods)}, not {method}.",
                headers={"Allow": ", ".join(methods)},
            )
        if route == HEALTH:
            return Response(200, health_body(self.config), {})
        call = prepare(route, body, self.config)
        payload = call.payload()
        if self.config.log_prompts:
            fields["prompt"] = call.inputs
        fields["max_new_tokens"] = call.parameters.get("max_new_tokens")
        if call.stream:
            if not can_stream:
                raise invalid(
                    "stream true needs the streaming function URL, and this one answers buffered responses "
                    "(deployed with streaming false). Omit stream or set it to false.",
                    "stream",
                )
            from .streaming import open_stream  # only streamed requests pay for importing it

            return open_stream(self, call, payload, request_id, remaining_ms, fields, started)
        model_started = time.perf_counter()
        try:
            answer, attempts = invoke(
                self.client,
                self.config.endpoint_name,
                payload,
                inference_component_name=self.config.inference_component_name,
                sleep=self._sleep,
                remaining_ms=remaining_ms,
            )
        finally:
            fields["model_latency_ms"] = round((time.perf_counter() - model_started) * 1000, 3)
        fields["attempts"] = attempts
        details = answer.get("details")
        if isinstance(details, dict):
            fields.update(token_counts(details))
            if details.get("finish_reason") is not None:
                fields["finish_reason"] = details["finish_reason"]
        if self.config.log_prompts:
            fields["completion"] = answer["generated_text"]
        return Response(200, answer_body(call, answer, self.config, request_id), {})
