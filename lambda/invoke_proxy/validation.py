"""Request validation, before any call to SageMaker: bodies, TGI 1.1 parameters, chat messages.

Names, types and ranges follow TGI 1.1's router (``GenerateParameters`` and ``Validation::validate``), so a
request that passes here is one TGI accepts, except for what only the tokenizer knows (input length).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from .config import MAX_BEST_OF, MAX_STOP_SEQUENCES, MAX_TOP_N_TOKENS, Config
from .errors import ProxyError, invalid

F32_MAX = 3.4028234663852886e38
F32_BELOW_ONE = 0.99999994  # the largest 32-bit float below 1
I32_MAX = 2**31 - 1
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1

JsonObject = dict[str, Any]


def parse_json_object(body: bytes) -> JsonObject:
    """Decode a request body: UTF-8 JSON whose top level is an object, with no NaN or Infinity."""
    if not body.strip():
        raise invalid("The request body is empty: send a JSON object.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"The request body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NonFiniteNumber as exc:
        raise invalid(
            f"The request body holds {exc}, which JSON does not allow: send finite numbers."
        ) from None
    except json.JSONDecodeError as exc:
        raise invalid(
            f"The request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except (ValueError, RecursionError):
        # Integers longer than Python's digit limit, or nesting deeper than the parser's recursion limit.
        raise invalid(
            "The request body is not JSON this proxy can read (a number too long or nesting too deep)."
        ) from None
    if not isinstance(value, dict):
        raise invalid(f"The request body must be a JSON object, not {_json_type(value)}.")
    return value


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFiniteNumber(f"the number {text[:40]} (out of range)")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def known_fields(obj: JsonObject, allowed: tuple[str, ...], what: str, path: str = "") -> JsonObject:
    """``obj`` without the fields this proxy does not know whose value is null; any other unknown field is a 400.

    TGI 1.1 deserializes requests without serde's ``deny_unknown_fields``, so it ignores fields it does not know
    (huggingface/text-generation-inference, v1.1.0, router/src/lib.rs: ``GenerateRequest`` and
    ``GenerateParameters`` derive ``Deserialize`` only). Newer clients send every parameter they know, with null
    for those they leave unset (``frequency_penalty``, ``grammar``, ``adapter_id``...): null means "not set", so
    those are dropped here and never reach the model. An unknown field with a value would be ignored by TGI as
    silently, which hides typos (``temprature``), so it is refused with its name. ``path`` prefixes the
    error's ``param`` (``parameters.``, ``messages[0].``).
    """
    kept: JsonObject = {}
    for key, value in obj.items():
        if key in allowed:
            kept[key] = value
        elif value is not None:
            raise _unknown(key, allowed, what, path)
    return kept


def _unknown(key: str, allowed: tuple[str, ...], what: str, path: str) -> ProxyError:
    import difflib  # the error path only: not on every request's cold start

    where = f" in {path.rstrip('.')}" if path else ""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return invalid(
        f"Unknown {what} {key!r}{where}. {hint}Allowed: {', '.join(sorted(allowed))}. A {what} this proxy "
        "does not know is accepted only as null (not set).",
        param=f"{path}{key}",
    )


# --- TGI 1.1 generation parameters -----------------------------------------------------------------------


def _number(value: object, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{param} must be a number, not {_json_type(value)}.", param)
    # Compare before converting: float() of a 400-digit JSON integer raises OverflowError.
    if abs(value) > F32_MAX or not math.isfinite(value):
        raise invalid(f"{param} must be a finite 32-bit float.", param)
    return float(value)


def as_f32(value: float) -> float:
    """The value TGI reads: its float parameters are 32-bit, so 0.99999999999 is 1.0 and 1e-60 is 0.0.

    Ranges are checked on this value, after ``_number`` (or an equal check) has kept it within F32_MAX.
    """
    return float(struct.unpack("f", struct.pack("f", value))[0])


def f32_note(number: float, rounded: float) -> str:
    """Why a value that looks in range is not: empty unless rounding to 32 bits changed it."""
    return "" if number == rounded else f"; {number!r} is {rounded!r} as the 32-bit float TGI reads"


def _integer(value: object, param: str) -> int:
    # TGI's serde rejects 5.0 for an integer field, so this does too.
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{param} must be an integer, not {_json_type(value)}.", param)
    return value


def _boolean(value: object, param: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(f"{param} must be true or false, not {_json_type(value)}.", param)
    return value


def _temperature(value: object, param: str, config: Config) -> float:
    number = _number(value, param)
    rounded = as_f32(number)
    if rounded <= 0:
        raise invalid(
            f"{param} must be above 0 (TGI rejects 0){f32_note(number, rounded)}; for greedy decoding set "
            "do_sample false.",
            param,
        )
    return number


def _positive_float(value: object, param: str, config: Config) -> float:
    number = _number(value, param)
    rounded = as_f32(number)
    if rounded <= 0:
        note = f32_note(number, rounded)
        raise invalid(f"{param} must be above 0{note}{': send a larger value' if note else ''}.", param)
    return number


def _open_unit(value: object, param: str, config: Config) -> float:
    number = _number(value, param)
    rounded = as_f32(number)
    if not 0 < rounded < 1:
        hint = f": send at most {F32_BELOW_ONE}, or" if rounded == 1 and number < 1 else ";"
        raise invalid(
            f"{param} must be strictly between 0 and 1 (TGI 1.1 rejects 1.0){f32_note(number, rounded)}"
            f"{hint} omit it to disable.",
            param,
        )
    return number


def _ranged_int(
    low: int, high: Callable[[Config], int], what: str = ""
) -> Callable[[object, str, Config], int]:
    def check(value: object, param: str, config: Config) -> int:
        number = _integer(value, param)
        top = high(config)
        if not low <= number <= top:
            raise invalid(f"{param} must be an integer from {low} to {top}{what}.", param)
        return number

    return check


def _flag(value: object, param: str, config: Config) -> bool:
    return _boolean(value, param)


def _stop(value: object, param: str, config: Config) -> list[str]:
    if not isinstance(value, list):
        raise invalid(f"{param} must be an array of strings, not {_json_type(value)}.", param)
    return stop_list(value, param)


def stop_list(value: list[Any], param: str) -> list[str]:
    if len(value) > MAX_STOP_SEQUENCES:
        raise invalid(f"{param} holds {len(value)} strings; TGI accepts at most {MAX_STOP_SEQUENCES}.", param)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid(f"{param}[{index}] must be a string, not {_json_type(item)}.", param)
        if not item:
            # TGI accepts it, but an empty stop sequence ends generation after the first token.
            raise invalid(
                f"{param}[{index}] is empty; an empty stop sequence would end generation at once.", param
            )
    return list(value)


class _Spec(NamedTuple):
    check: Callable[[object, str, Config], Any]
    nullable: bool  # TGI's Option<...> fields take null as "not set"; the others reject it.


_MAX_NEW_TOKENS_HINT = " (TGI requires input tokens + max_new_tokens <= MAX_TOTAL_TOKENS)"

TGI_PARAMETERS: dict[str, _Spec] = {
    "best_of": _Spec(_ranged_int(1, lambda c: MAX_BEST_OF), nullable=True),
    "decoder_input_details": _Spec(_flag, nullable=False),
    "details": _Spec(_flag, nullable=False),
    "do_sample": _Spec(_flag, nullable=False),
    "max_new_tokens": _Spec(
        _ranged_int(1, lambda c: c.max_new_tokens_limit, _MAX_NEW_TOKENS_HINT), nullable=False
    ),
    "repetition_penalty": _Spec(_positive_float, nullable=True),
    "return_full_text": _Spec(_flag, nullable=True),
    "seed": _Spec(_ranged_int(0, lambda c: U64_MAX), nullable=True),
    "stop": _Spec(_stop, nullable=False),
    "temperature": _Spec(_temperature, nullable=True),
    "top_k": _Spec(_ranged_int(1, lambda c: I32_MAX), nullable=True),
    "top_n_tokens": _Spec(_ranged_int(0, lambda c: MAX_TOP_N_TOKENS), nullable=True),
    "top_p": _Spec(_open_unit, nullable=True),
    "truncate": _Spec(_ranged_int(1, lambda c: c.max_input_length, " (MAX_INPUT_LENGTH)"), nullable=True),
    "typical_p": _Spec(_open_unit, nullable=True),
    "watermark": _Spec(_flag, nullable=False),
}

GENERATE_PARAMETERS = tuple(TGI_PARAMETERS)
# The chat answer is only the new text, so echoing the prompt back is not offered there.
CHAT_PARAMETERS = tuple(name for name in TGI_PARAMETERS if name != "return_full_text")


def validate_parameters(raw: object, config: Config, allowed: tuple[str, ...]) -> JsonObject:
    """Validate TGI parameters; returns them with nulls dropped and ``max_new_tokens`` defaulted."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid(f"parameters must be an object, not {_json_type(raw)}.", "parameters")
    raw = known_fields(raw, allowed, "parameter", "parameters.")
    params: JsonObject = {}
    for name, value in raw.items():
        spec = TGI_PARAMETERS[name]
        path = f"parameters.{name}"
        if value is None:
            if spec.nullable:
                continue
            raise invalid(f"{path} must not be null; omit it to use the default.", path)
        params[name] = spec.check(value, path, config)
    params.setdefault("max_new_tokens", config.default_max_new_tokens)
    check_sampling(params, "parameters.")
    return params


def check_sampling(params: JsonObject, prefix: str) -> None:
    """TGI's cross-field rules for ``best_of``."""
    if params.get("best_of", 1) > 1:
        sampling = params.get("do_sample") or any(
            key in params for key in ("temperature", "top_k", "top_p", "typical_p")
        )
        if not sampling:
            raise invalid(
                "best_of above 1 needs sampling: set do_sample true, or one of temperature, top_k, top_p, "
                "typical_p.",
                f"{prefix}best_of",
            )
        if "seed" in params:
            raise invalid("seed must not be set when best_of is above 1.", f"{prefix}seed")


# --- bodies ----------------------------------------------------------------------------------------------


def non_empty_string(value: object, param: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"{param} must be a string, not {_json_type(value)}.", param)
    if not value:
        raise invalid(f"{param} must not be empty.", param)
    return value


def stream_flag(body: JsonObject) -> bool:
    """The request's ``stream`` field: true or false (absent or null is false); anything else is a 400."""
    stream = body.get("stream")
    if stream is None:
        return False
    return _boolean(stream, "stream")


def check_streamable(params: JsonObject, prefix: str) -> None:
    """TGI 1.1 refuses these with ``stream``: say so before the call, in the proxy's own words."""
    if params.get("best_of", 1) > 1:
        raise invalid(
            "best_of above 1 cannot be streamed (TGI returns one sequence while streaming).",
            f"{prefix}best_of",
        )
    if params.get("decoder_input_details"):
        raise invalid(
            "decoder_input_details cannot be streamed: ask for it without stream.",
            f"{prefix}decoder_input_details",
        )


def json_type(value: object) -> str:
    return _json_type(value)
