"""Chat messages: validation and rendering into the Mistral Instruct prompt format.

``<s>[INST] {user_1} [/INST]{assistant_1}</s>[INST] {user_2} [/INST]``. Mistral Instruct has no system role:
system text is prepended to the first user turn, separated by a blank line.
"""

from __future__ import annotations

from .errors import invalid
from .validation import json_type, known_fields

Message = tuple[str, str]  # (role, content)

ROLES = ("system", "user", "assistant")
OPENAI_ROLES = ("system", "developer", "user", "assistant")


def parse_messages(raw: object, *, openai: bool = False) -> list[Message]:
    """Check the shape of a ``messages`` array; returns (role, content) pairs.

    The OpenAI form also takes ``developer`` (OpenAI's new name for system), content given as text parts, and
    a ``name`` field, which has no meaning to Mistral and is ignored. A field neither form knows is dropped when
    it is null and refused otherwise, as in the rest of the request (``validation.known_fields``).
    """
    if not isinstance(raw, list):
        raise invalid(f"messages must be an array of messages, not {json_type(raw)}.", "messages")
    if not raw:
        raise invalid("messages is empty: send at least one user message.", "messages")
    roles = OPENAI_ROLES if openai else ROLES
    keys = ("role", "content", "name") if openai else ("role", "content")
    messages: list[Message] = []
    for index, item in enumerate(raw):
        path = f"messages[{index}]"
        if not isinstance(item, dict):
            raise invalid(f"{path} must be an object with role and content, not {json_type(item)}.", path)
        item = known_fields(item, keys, "field", f"{path}.")
        role = item.get("role")
        if not isinstance(role, str) or role not in roles:
            shown = repr(role) if isinstance(role, str) else json_type(role)
            raise invalid(f"{path}.role must be one of {', '.join(roles)}; got {shown}.", f"{path}.role")
        if "content" not in item:
            raise invalid(f"{path} has no content.", f"{path}.content")
        content = _content(item["content"], f"{path}.content", openai)
        if openai and item.get("name") is not None and not isinstance(item["name"], str):
            raise invalid(f"{path}.name must be a string.", f"{path}.name")
        messages.append(("system" if role == "developer" else role, content))
    return messages


def _content(value: object, path: str, openai: bool) -> str:
    if isinstance(value, str):
        return value
    if openai and isinstance(value, list):
        texts: list[str] = []
        for index, part in enumerate(value):
            if not (
                isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            ):
                raise invalid(
                    f"{path}[{index}] must be a text part {{'type': 'text', 'text': ...}}; "
                    "this model reads text only.",
                    f"{path}[{index}]",
                )
            texts.append(part["text"])
        return "\n".join(texts)
    expected = "a string or an array of text parts" if openai else "a string"
    raise invalid(f"{path} must be {expected}, not {json_type(value)}.", path)


def render_mistral_instruct(messages: list[Message]) -> str:
    """Render validated messages; raises a 400 that says what to fix when the turn order is wrong."""
    system_parts: list[str] = []
    index = 0
    while index < len(messages) and messages[index][0] == "system":
        system_parts.append(messages[index][1])
        index += 1
    turns = messages[index:]
    if not turns:
        raise invalid("messages has no user message: add one after the system message.", "messages")
    for offset, (role, _) in enumerate(turns):
        position = index + offset
        expected = "user" if offset % 2 == 0 else "assistant"
        if role == "system":
            raise invalid(
                f"messages[{position}] is a system message after the conversation started: system messages "
                "must come first, before the first user message.",
                f"messages[{position}].role",
            )
        if role != expected:
            raise invalid(
                f"messages[{position}].role is {role!r} but {expected!r} was expected: after optional system "
                "messages, roles must alternate user/assistant/user/..., starting with user.",
                f"messages[{position}].role",
            )
    if turns[-1][0] != "user":
        raise invalid(
            f"The last message (messages[{len(messages) - 1}]) must be from the user: the model answers "
            "the last user message.",
            f"messages[{len(messages) - 1}].role",
        )
    parts = ["<s>"]
    for offset in range(0, len(turns), 2):
        user = turns[offset][1]
        if offset == 0 and system_parts:
            user = "\n\n".join([*system_parts, user])
        parts.append(f"[INST] {user} [/INST]")
        if offset + 1 < len(turns):
            parts.append(f"{turns[offset + 1][1]}</s>")
    return "".join(parts)
