"""What every benchmark request asks for: a prompt of N words from a fixed public-domain text, and TGI 1.1
parameters that make the model generate a fixed number of tokens (as far as TGI's HTTP API allows).

TGI 1.1 has no ``min_new_tokens`` and no ``ignore_eos``: its router sets ``ignore_eos_token: false`` for every
HTTP request (only its gRPC benchmark tool can set it). What this module does instead:

- ``max_new_tokens`` = N, and no ``stop`` sequences, so nothing but the end-of-sequence token can end a
  generation before N;
- the prompt is raw prose (no instruction template) cut mid-text after N words, so the likeliest continuation is
  more prose, not an answer that ends;
- ``details: true`` so TGI reports ``details.generated_tokens`` (and ``finish_reason``), which every result is
  checked against; ``decoder_input_details: false`` and ``return_full_text: false`` so the answer does not carry
  the prompt back.

The model can still emit its end-of-sequence token early. Such requests are counted and reported as "short":
their tokens count towards throughput (they were generated), but they are left out of the per-token latency
and time-to-first-token percentiles, which assume N tokens.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

TEXT_FILE = Path(__file__).with_name("pride_and_prejudice.txt")


@functools.cache
def _words() -> tuple[str, ...]:
    """The text's words, each with the whitespace that follows it (so paragraphs survive in prompts)."""
    lines = TEXT_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
    body = "".join(line for line in lines if not line.startswith("#")).lstrip()
    return tuple(match.group(0) for match in re.finditer(r"\S+\s*", body))


def text_words() -> int:
    """How many words the shipped text holds before prompts start cycling through it again."""
    return len(_words())


def prompt(words: int) -> str:
    """The first ``words`` words of the text (cycling from the start if more are asked for), without the
    trailing whitespace, so the prompt ends mid-text."""
    if words < 1:
        raise ValueError(f"a prompt needs at least one word, got {words}")
    source = _words()
    chosen = [source[i % len(source)] for i in range(words)]
    return "".join(chosen).rstrip()


def parameters(output_tokens: int, truncate: int | None = None) -> dict[str, Any]:
    """TGI 1.1 parameters for exactly ``output_tokens`` new tokens (unless the model ends early)."""
    params: dict[str, Any] = {
        "max_new_tokens": output_tokens,
        "details": True,
        "decoder_input_details": False,
        "return_full_text": False,
    }
    if truncate is not None:
        params["truncate"] = truncate
    return params


def request_body(words: int, output_tokens: int, *, stream: bool, truncate: int | None = None) -> bytes:
    """The JSON body, the same for the function URL's ``POST /generate`` and for InvokeEndpoint."""
    body: dict[str, Any] = {"inputs": prompt(words), "parameters": parameters(output_tokens, truncate)}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()
