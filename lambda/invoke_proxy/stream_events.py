"""How each model route streams: TGI's stream events shaped into the server-sent events its callers read.

Imported with the first streamed answer only (``model_route``), like ``streaming``: a buffered function's cold
start does not compile it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import openai_chat
from .config import Config
from .encoding import DONE, sse
from .paths import CHAT, GENERATE, OPENAI_CHAT
from .tgi import JsonObject, ModelCall, details_of, strip_stop

if TYPE_CHECKING:
    from .records import StreamEvents


class GenerateEvents:
    """``/generate``: TGI's events as TGI sends them (``details`` only if the request asked for them)."""

    def __init__(self, call: ModelCall, config: Config, request_id: str, created: int) -> None:
        self.call = call

    def start(self) -> list[bytes]:
        return []

    def token(self, event: JsonObject) -> list[bytes]:
        if event.get("generated_text") is not None and not self.call.caller_wants_details:
            event = {**event, "details": None}  # what TGI sends when details were not asked for
        return [sse(event)]

    def end(self) -> list[bytes]:
        return []


class ChatEvents(GenerateEvents):
    """``/chat``: TGI's token events too; the last one's ``generated_text`` is the chat answer (without a
    matched stop sequence, as in the buffered answer) and it adds the buffered answer's ``finish_reason``."""

    def token(self, event: JsonObject) -> list[bytes]:
        text = event.get("generated_text")
        if isinstance(text, str):
            details = details_of(event)
            event = {
                **event,
                "generated_text": strip_stop(text, details, self.call.stop),
                "finish_reason": details.get("finish_reason"),
            }
        return super().token(event)


class OpenAIChunks:
    """``/v1/chat/completions``: ``chat.completion.chunk`` events (a role chunk, content deltas, a chunk with
    ``finish_reason``, a usage chunk with ``stream_options.include_usage``), then ``data: [DONE]``. Text that
    could be the start of a stop sequence is held back until it cannot, so the deltas never hold one."""

    def __init__(self, call: ModelCall, config: Config, request_id: str, created: int) -> None:
        self.call = call
        self.base: JsonObject = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion.chunk",
            "created": created,
            "model": config.model_id,
        }
        # A stop sequence ends the text when it matches: hold back as much text as the longest one.
        self.hold = max((len(stop) for stop in call.stop), default=0)
        self.text = ""
        self.sent = 0
        self.details: JsonObject = {}

    def _chunk(self, delta: JsonObject, finish_reason: str | None = None) -> bytes:
        chunk = {
            **self.base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        if self.call.include_usage:
            chunk["usage"] = None
        return sse(chunk)

    def start(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def token(self, event: JsonObject) -> list[bytes]:
        token = event.get("token") if isinstance(event.get("token"), dict) else {}
        assert isinstance(token, dict)
        if not token.get("special") and isinstance(token.get("text"), str):
            self.text += token["text"]
        final = event.get("generated_text")
        if isinstance(final, str):
            self.details = details_of(event)
            content = strip_stop(final, self.details, self.call.stop)
            already = self.text[: self.sent]
            rest = content[len(already) :] if content.startswith(already) else ""
            finish = openai_chat.FINISH_REASONS.get(str(self.details.get("finish_reason")), "stop")
            chunks = [self._chunk({"content": rest})] if rest else []
            return [*chunks, self._chunk({}, finish)]
        safe = len(self.text) - self.hold
        if safe <= self.sent:
            return []
        delta, self.sent = self.text[self.sent : safe], safe
        return [self._chunk({"content": delta})]

    def end(self) -> list[bytes]:
        chunks = []
        if self.call.include_usage:
            chunks.append(sse({**self.base, "choices": [], "usage": openai_chat.usage(self.details)}))
        return [*chunks, DONE]


#: Each model route's events, by route path (``ModelCall.route``).
EVENTS: dict[str, Callable[[ModelCall, Config, str, int], StreamEvents]] = {
    GENERATE: GenerateEvents,
    CHAT: ChatEvents,
    OPENAI_CHAT: OpenAIChunks,
}
