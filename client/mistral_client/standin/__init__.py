"""The one loopback stand-in for SageMaker runtime serving TGI 1.1: for mistral-bench's self-test and the tests.

It speaks enough of SageMaker runtime's HTTP API for botocore: ``POST /endpoints/{name}/invocations`` (TGI's JSON
answer) and ``POST /endpoints/{name}/invocations-response-stream`` (``application/vnd.amazon.eventstream``
``PayloadPart`` events carrying TGI's server-sent ``data:`` lines, framed by :mod:`mistral_client.eventstream`: the
bytes botocore's parser reads from AWS, in HTTP/1.1 chunked encoding). Boto3 and botocore reach it through
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` (or ``endpoint_url``) with dummy credentials: serialization, signing and
parsing all run. Each request gets one of two kinds of answer:

- a *script*, when one is queued (``stream``, ``error``): bytes are written (and leave at once), a
  ``threading.Event`` is waited on (so a test decides when the model "generates" the next token), a float is a
  pause. The tests of the proxy, the client and the wake use these.
- otherwise the *timing model* (:class:`TimingModel`), deliberately simple, so its throughput, latency per token
  and time to first token have closed forms (:meth:`TimingModel.expected`) the benchmark's self-test compares the
  measurement with:

  - prefill (time to first token) = ``prefill_base_s + prefill_per_kword_s * input_words / 1000``;
  - each further token takes ``token_base_s + token_per_request_s * (batch - 1)
    + token_per_kword_s * words_in_batch / 1000``, where ``batch`` is the number of requests in flight and
    ``words_in_batch`` their input words together (the KV cache the GPU reads each step), sampled at every step;
  - at most ``max_concurrent_requests`` requests in flight; one more is answered TGI's 429 at once;
  - a request still running after ``container_timeout_s`` is cut off, as SageMaker cuts a container at 60 s.

  Token deadlines are absolute (each one a step after the previous deadline), so a late wake-up on a loaded
  machine delays one token, not every token after it. Errors are what SageMaker sends: TGI's 429 inside a
  ``ModelError`` (HTTP 424, ``OriginalStatusCode`` 429), the container timeout as a ``ModelError`` without a
  model status, or a ``ModelStreamError`` event mid-stream.

Standard library only (plus this package's framing); ``proxy_app`` runs the proxy's runtime in front of it.
The package: ``server`` (the server), ``timing`` (the model), ``scripts`` (TGI's events, scripted answers).
"""

from __future__ import annotations

from .scripts import Answer, Recorded, Step, endless_tokens, sse_bytes, tgi_token, tokens_script
from .server import (
    CONTAINER_TIMEOUT_MESSAGE,
    DEFAULT_ENDPOINT_NAME,
    LOG_STREAM_ARN,
    OVERLOADED,
    StandIn,
    proxy_app,
)
from .timing import Expected, TimingModel

__all__ = [
    "CONTAINER_TIMEOUT_MESSAGE",
    "DEFAULT_ENDPOINT_NAME",
    "LOG_STREAM_ARN",
    "OVERLOADED",
    "Answer",
    "Expected",
    "Recorded",
    "StandIn",
    "Step",
    "TimingModel",
    "endless_tokens",
    "proxy_app",
    "sse_bytes",
    "tgi_token",
    "tokens_script",
]
