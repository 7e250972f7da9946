"""``POST /generate``: TGI's own request format in, TGI's answer out (streamed: ``stream_events.GenerateEvents``)."""

from __future__ import annotations

from .config import Config
from .errors import invalid
from .paths import GENERATE
from .tgi import JsonObject, ModelCall, details_of, model_call
from .validation import (
    GENERATE_PARAMETERS,
    check_streamable,
    known_fields,
    non_empty_string,
    stream_flag,
    validate_parameters,
)


def prepare(data: JsonObject, config: Config) -> ModelCall:
    data = known_fields(data, ("inputs", "parameters", "stream"), "field")
    stream = stream_flag(data)
    if "inputs" not in data:
        raise invalid("inputs is required: the prompt text.", "inputs")
    inputs = non_empty_string(data["inputs"], "inputs")
    params = validate_parameters(data.get("parameters"), config, GENERATE_PARAMETERS)
    if stream:
        check_streamable(params, "parameters.")
    return model_call(GENERATE, inputs, params, stream=stream)


def answer(
    call: ModelCall, generated: JsonObject, config: Config, request_id: str, created: int
) -> JsonObject:
    body: JsonObject = {"generated_text": generated["generated_text"]}
    details = details_of(generated)
    if call.caller_wants_details and details:
        body["details"] = details
    return body
