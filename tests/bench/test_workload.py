"""Prompts come from a fixed public-domain text; the parameters force the output length as far as TGI 1.1 can."""

from __future__ import annotations

import json

from mistral_client.bench import workload


def test_the_shipped_text_is_long_enough_for_the_articles_largest_prompt() -> None:
    assert workload.text_words() >= 6400


def test_the_text_file_names_its_public_domain_source_in_its_header() -> None:
    header = [
        line for line in workload.TEXT_FILE.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    assert "Pride and Prejudice" in header[0] and "Jane Austen" in header[0]
    assert "public-domain" in " ".join(header)
    assert "cycles" in " ".join(header)


def test_a_prompt_has_exactly_the_words_asked_for() -> None:
    for words in (1, 128, 512, 6400):
        assert len(workload.prompt(words).split()) == words


def test_prompts_are_the_same_on_every_run_and_start_at_the_text_start() -> None:
    assert workload.prompt(128) == workload.prompt(128)
    assert workload.prompt(8) == "Chapter 1\n\nIt is a truth universally acknowledged,"  # paragraphs kept


def test_a_prompt_longer_than_the_text_cycles_through_it_again() -> None:
    total = workload.text_words()
    words = workload.prompt(total + 3).split()
    assert words[total:] == words[:3]


def test_requests_ask_for_exactly_n_tokens_with_details_and_no_stop_sequences() -> None:
    body = json.loads(workload.request_body(128, 64, stream=False))
    assert body["parameters"] == {
        "max_new_tokens": 64,
        "details": True,
        "decoder_input_details": False,
        "return_full_text": False,
    }
    assert "stream" not in body


def test_streaming_requests_say_so_and_truncate_is_passed_through() -> None:
    body = json.loads(workload.request_body(16, 8, stream=True, truncate=8000))
    assert body["stream"] is True
    assert body["parameters"]["truncate"] == 8000
