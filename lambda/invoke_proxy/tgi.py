"""TGI 1.1's side of a model call: the request it receives (``ModelCall``) and what its answers' details say.

Every model route builds a ``ModelCall`` from its own request format; each reads TGI's answer (buffered, or
the last event of a stream) with the helpers here.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from .config import SAGEMAKER_MAX_PAYLOAD_BYTES
from .errors import ProxyError, invalid

JsonObject = dict[str, Any]


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


def model_call(
    route: str,
    inputs: str,
    params: JsonObject,
    stop: list[str] | None = None,
    *,
    stream: bool = False,
    include_usage: bool = False,
) -> ModelCall:
    """The call for validated ``params``: TGI is always asked for details, the caller's wish is kept apart."""
    wants = bool(params.get("details", False))
    sent = dict(params)
    sent["details"] = True
    return ModelCall(route, inputs, sent, wants, tuple(stop or params.get("stop", ())), stream, include_usage)


def answer_of(raw: bytes) -> Any:
    """A buffered TGI answer's object: SageMaker wraps it in a one-element list (``[{"generated_text", ...}]``),
    the proxy's own /generate answers the object alone; anything that is not JSON is None. The caller checks
    the shape it needs (the proxy and mistral-bench read the same answers)."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    if isinstance(answer, list) and answer:
        return answer[0]
    return answer


def details_of(answer: JsonObject) -> JsonObject:
    """An answer's (or a final stream event's) ``details`` object, or an empty one."""
    details = answer.get("details")
    return details if isinstance(details, dict) else {}


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
