"""What the proxy works with outside itself, passed explicitly: the SageMaker runtime client, clocks, the
sleep between retries, the logger and the metrics writer. Tests hand in their own; production uses these
defaults (``core.Proxy`` builds them)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

LOG = logging.getLogger("invoke_proxy")
if not os.environ.get("AWS_LAMBDA_LOG_LEVEL"):
    # Lambda's JSON logging sets the level from the function's ApplicationLogLevel; elsewhere default to INFO.
    LOG.setLevel(logging.INFO)


class Collaborators(NamedTuple):
    """Immutable. A NamedTuple rather than a frozen dataclass, as ``Config``: a little less cold start."""

    client: Any  # botocore's sagemaker-runtime client (``sagemaker.create_client``)
    #: Writes one request's metrics from its log fields (``metrics.write_request_metrics``, bound to the
    #: endpoint and routes).
    write_metrics: Callable[[Mapping[str, Any]], None]
    sleep: Callable[[float], None] = time.sleep  # between retries
    clock: Callable[[], float] = time.perf_counter  # seconds, for latencies
    wall_clock: Callable[[], float] = time.time  # seconds since the epoch, for OpenAI's ``created``
    log: logging.Logger = LOG  # one ``request`` line per request, and unexpected failures
