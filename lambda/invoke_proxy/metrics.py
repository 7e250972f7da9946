"""Token and request metrics in CloudWatch's embedded metric format (EMF): no API call, no PutMetricData.

One JSON line per model request, written to standard output, from the same fields as the request's log line.
The pipeline (``core.Proxy.serve``, buffered answers) and the stream (``streaming.TokenStream``, when it ends)
each call the metrics writer they are given (``Collaborators.write_metrics``: by default
:func:`write_request_metrics` bound to the endpoint and the routes). The names are the contract's (``contract.py``), which the CDK constructs read too (``InvokeProxy.metric_*``),
so runtime and dashboard cannot drift apart. Standard library only: this runs on the proxy's cold start.

Why a line of its own on stdout, and not ``extra`` fields of the request log record:

- The EMF specification requires the log event to be a JSON object, with no other data before or after it,
  whose root holds ``_aws`` and every metric and dimension it names (CloudWatch User Guide, "Specification:
  Embedded metric format", root node).
- Lambda sends everything a function writes to stdout to CloudWatch Logs, which extracts EMF from any event
  that follows the specification (CloudWatch User Guide, "Using the embedded metric format with Lambda").
  With the JSON log format, ``print``/stdout output still reaches the log group as plain text, one event per
  line, unchanged (Lambda Developer Guide, "Log and monitor Python Lambda functions"), so this line *is* the
  event. That is also how Powertools for AWS Lambda (Python) flushes its metrics.
- The runtime's JSON formatter (awslambdaric ``lambda_runtime_log_utils.JsonFormatter``) would put ``extra``
  fields at the root of its object too, but that record is filtered by the function's application log level
  (a WARN level would drop every 2xx datapoint and skew the 5xx rate), and a streaming transport behind the
  Lambda Web Adapter runs without that formatter at all. A message string (``LOG.info(json.dumps(doc))``)
  would nest the document inside ``"message"``, where CloudWatch never looks: the failure AWS warns about for
  older Node.js EMF libraries with the JSON log format.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Collection, Mapping
from typing import Any, TextIO

from .contract import (
    CALLER,
    CALLER_DIMENSIONS,
    CALLER_METRICS,
    DIMENSION_SETS,
    ENDPOINT_NAME,
    GENERATED_TOKENS,
    INPUT_TOKENS,
    MODEL_SCALING_UP,
    MODEL_SCALING_UP_ERROR,
    MS_PER_TOKEN,
    NAMESPACE,
    OTHER_ROUTE,
    REQUEST_LATENCY,
    REQUESTS,
    ROUTE,
    STATUS_CLASS,
    STATUS_CLASSES,
    TIME_TO_FIRST_TOKEN,
    TOKENS_PER_SECOND,
    UNITS,
    UNMEASURED_ROUTES,
    UNVERIFIED_CALLER,
)

# The names are the contract's (contract.py: the constructs read the same ones); re-exported, so
# ``metrics.NAMESPACE`` and friends keep working.
__all__ = [
    "CALLER",
    "CALLER_DIMENSIONS",
    "CALLER_FIELD",
    "CALLER_METRICS",
    "DIMENSION_SETS",
    "ENDPOINT_NAME",
    "GENERATED_TOKENS",
    "INPUT_TOKENS",
    "LATENCY_FIELD",
    "MODEL_LATENCY_FIELD",
    "MODEL_SCALING_UP",
    "MODEL_SCALING_UP_ERROR",
    "MS_PER_TOKEN",
    "NAMESPACE",
    "OTHER_ROUTE",
    "REQUESTS",
    "REQUEST_LATENCY",
    "ROUTE",
    "STATUS_CLASS",
    "STATUS_CLASSES",
    "TIME_TO_FIRST_TOKEN",
    "TIME_TO_FIRST_TOKEN_FIELD",
    "TOKENS_PER_SECOND",
    "UNITS",
    "UNMEASURED_ROUTES",
    "emf_document",
    "request_metrics",
    "status_class",
    "write_request_metrics",
]

LOG = logging.getLogger("invoke_proxy")

#: The request log fields the metrics read. A streaming transport sets ``time_to_first_token_ms``.
LATENCY_FIELD = "latency_ms"
MODEL_LATENCY_FIELD = "model_latency_ms"
TIME_TO_FIRST_TOKEN_FIELD = "time_to_first_token_ms"
#: Who called (``identity.caller_name``; ``unverified`` without an IAM principal).
CALLER_FIELD = "caller"


def status_class(status: int) -> str:
    """``2xx``, ``4xx`` or ``5xx`` (anything below 400 counts as 2xx: the proxy answers no 1xx or 3xx)."""
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return "2xx"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def request_metrics(fields: Mapping[str, Any]) -> dict[str, float]:
    """The metric values one request's log fields give (only those the fields support)."""
    values: dict[str, float] = {REQUESTS: 1}
    latency = _number(fields.get(LATENCY_FIELD))
    if latency is not None:
        values[REQUEST_LATENCY] = latency
    prompt_tokens = _number(fields.get("prompt_tokens"))
    if prompt_tokens is not None:
        values[INPUT_TOKENS] = prompt_tokens
    generated = _number(fields.get("completion_tokens"))
    model_ms = _number(fields.get(MODEL_LATENCY_FIELD))
    first_token_ms = _number(fields.get(TIME_TO_FIRST_TOKEN_FIELD))
    if generated is not None:
        values[GENERATED_TOKENS] = generated
        if generated > 0 and model_ms is not None and model_ms > 0:
            # The launch article's two figures: tokens per second of one request, and its latency per token.
            values[TOKENS_PER_SECOND] = round(generated / (model_ms / 1000), 3)
            values[MS_PER_TOKEN] = round(model_ms / generated, 3)
    if first_token_ms is not None:
        values[TIME_TO_FIRST_TOKEN] = first_token_ms
    if fields.get("error_type") == MODEL_SCALING_UP_ERROR:
        values[MODEL_SCALING_UP] = 1
    return values


def emf_document(
    fields: Mapping[str, Any],
    *,
    endpoint_name: str,
    routes: Collection[str],
    timestamp_ms: int | None = None,
    caller_metrics: bool = True,
) -> dict[str, Any] | None:
    """The EMF document for one request, or None for a route without metrics.

    Only numbers, the request id and bounded dimension values go in: never the prompt or the completion,
    whatever ``LOG_PROMPTS`` says. The Caller is a dimension value: a role, user or account name, never a
    session name (``identity.py``), so the number of values is the number of principals allowed to call.

    :param fields: the request's log fields (``route``, ``status``, ``latency_ms``, ``caller``, token counts...).
    :param endpoint_name: the SageMaker endpoint's name (the EndpointName dimension).
    :param routes: the proxy's routes; any other path is reported as ``other``.
    :param caller_metrics: add the per-caller directive (``contract.CALLER_DIMENSIONS``), which carries only
        ``contract.CALLER_METRICS``: an EMF document may hold several directives over the same root values
        (CloudWatch User Guide, "Specification: Embedded metric format", ``CloudWatchMetrics`` is an array of
        MetricDirective objects), and each (metric, dimension values) pair is one custom metric, billed.
    """
    route = str(fields.get("route", ""))
    if route in UNMEASURED_ROUTES:
        return None
    status = _number(fields.get("status"))
    values = request_metrics(fields)
    directives = [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [list(dimensions) for dimensions in DIMENSION_SETS],
            "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in values],
        }
    ]
    if caller_metrics:
        directives.append(
            {
                "Namespace": NAMESPACE,
                "Dimensions": [list(CALLER_DIMENSIONS)],
                "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in CALLER_METRICS if name in values],
            }
        )
    caller = fields.get(CALLER_FIELD)
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": directives,
        },
        ENDPOINT_NAME: endpoint_name,
        ROUTE: route if route in routes else OTHER_ROUTE,
        STATUS_CLASS: status_class(int(status) if status is not None else 500),
        # A dimension value must be a non-empty string (EMF specification): never absent when named above.
        CALLER: caller if isinstance(caller, str) and caller else UNVERIFIED_CALLER,
        **values,
    }
    if isinstance(fields.get("request_id"), str):
        document["request_id"] = fields["request_id"]  # a property, not a dimension: finds the log line
    return document


def write_request_metrics(
    fields: Mapping[str, Any],
    *,
    endpoint_name: str,
    routes: Collection[str],
    stream: TextIO | None = None,
    caller_metrics: bool = True,
) -> None:
    """Write one request's EMF line to stdout. Never raises: metrics must not fail a request."""
    try:
        document = emf_document(
            fields, endpoint_name=endpoint_name, routes=routes, caller_metrics=caller_metrics
        )
        if document is None:
            return
        out = stream or sys.stdout
        # One line, compact: a newline inside the document would split it into two log events.
        out.write(json.dumps(document, separators=(",", ":"), ensure_ascii=True) + "\n")
        out.flush()  # behind the Lambda Web Adapter stdout is a pipe, block-buffered by default
    except Exception:  # metrics are best effort; the request log line still records the request
        known = {name: fields.get(name) for name in ("request_id", "route", CALLER_FIELD)}
        LOG.warning("could not write the request's metrics", exc_info=True, extra=known)
