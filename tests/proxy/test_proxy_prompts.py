"""Golden Mistral Instruct prompts: what the model actually receives for a conversation."""

from __future__ import annotations

from invoke_proxy.prompt import parse_messages, render_mistral_instruct


def render(*messages: tuple[str, str]) -> str:
    return render_mistral_instruct(parse_messages([{"role": r, "content": c} for r, c in messages]))


def test_one_turn() -> None:
    assert (
        render(("user", "What is the capital of France?"))
        == "<s>[INST] What is the capital of France? [/INST]"
    )


def test_several_turns() -> None:
    prompt = render(
        ("user", "Hi"),
        ("assistant", "Hello! How can I help?"),
        ("user", "Name a colour."),
        ("assistant", "Blue."),
        ("user", "Another one."),
    )
    assert prompt == (
        "<s>[INST] Hi [/INST]Hello! How can I help?</s>"
        "[INST] Name a colour. [/INST]Blue.</s>"
        "[INST] Another one. [/INST]"
    )


def test_system_prompt_goes_before_the_first_user_turn() -> None:
    prompt = render(
        ("system", "Answer in French."), ("user", "Hi"), ("assistant", "Bonjour !"), ("user", "Bye")
    )
    assert prompt == "<s>[INST] Answer in French.\n\nHi [/INST]Bonjour !</s>[INST] Bye [/INST]"


def test_several_system_messages_are_joined_in_order() -> None:
    prompt = render(("system", "Be brief."), ("system", "Answer in French."), ("user", "Hi"))
    assert prompt == "<s>[INST] Be brief.\n\nAnswer in French.\n\nHi [/INST]"


def test_text_is_passed_verbatim() -> None:
    assert (
        render(("user", "  two  spaces\nand a newline ")) == "<s>[INST]   two  spaces\nand a newline  [/INST]"
    )
