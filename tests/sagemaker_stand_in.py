"""Deprecated import path: the SageMaker runtime stand-in is the client's, ``mistral_client.standin`` (one stand-in
for the tests and mistral-bench's self-test). Import it from there; this module only re-exports it, under the
name it had here (``SageMakerRuntime`` is ``StandIn``).
"""

from __future__ import annotations

from mistral_client.standin import (
    Answer,
    Recorded,
    Step,
    endless_tokens,
    proxy_app,
    sse_bytes,
    tgi_token,
    tokens_script,
)
from mistral_client.standin import StandIn as SageMakerRuntime

__all__ = [
    "Answer",
    "Recorded",
    "SageMakerRuntime",
    "Step",
    "endless_tokens",
    "proxy_app",
    "sse_bytes",
    "tgi_token",
    "tokens_script",
]
