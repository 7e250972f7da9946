"""What SageMaker runtime's errors say, read one way by the proxy and by ``mistral-bench``.

A container that outlived SageMaker's 60 s, a stream cut for time, an inference component with no copy to
serve: each is told apart by its words, which SageMaker does not give a code of their own. The proxy maps them
to its answers (504 ``timeout``, 503 ``model_scaling_up``); ``mistral-bench`` counts them (timeouts, 5xx).
Standard library only: the client reads it without boto3.
"""

from __future__ import annotations

import re

#: SageMaker's message when the container outlives its 60 s: "Your invocation timed out while waiting for a
#: response from container primary. ..." (a ModelError whose OriginalStatusCode is 0 or absent).
CONTAINER_TIMEOUT_TEXT = "timed out while waiting for a response from container"
#: A ValidationError saying an inference component has no copy: "Inference Component has no capacity to
#: process this request." (a scale-to-zero model that is starting).
NO_CAPACITY = re.compile(r"\bno\s*capacity", re.IGNORECASE)


def container_timed_out(original_status: object, *messages: object) -> bool:
    """A ModelError that is SageMaker cutting the container at 60 s: no model status, and the words above."""
    if original_status not in (None, 0):
        return False
    return any(isinstance(m, str) and CONTAINER_TIMEOUT_TEXT in m.lower() for m in messages)


def stream_timed_out(message: object, error_code: object = "") -> bool:
    """A ModelStreamError that is the stream's time limit (ModelInvocationTimeExceeded), not a broken stream.

    botocore keeps only Code and Message of an exception event (its ErrorCode member is dropped), so the
    message tells them apart."""
    text = f"{message or ''} {error_code or ''}".lower()
    return "time" in text and "broken" not in text


def no_capacity(message: object) -> bool:
    """A ValidationError that is an inference component without a copy (it scales out on demand)."""
    return isinstance(message, str) and NO_CAPACITY.search(message) is not None
