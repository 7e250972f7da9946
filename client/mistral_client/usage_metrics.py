"""What ``mistral-invoke usage`` reads from CloudWatch: the proxy's metrics and the endpoint's instance hours.

The proxy writes one embedded-metric line per model request (``invoke_proxy.metrics``); CloudWatch turns it into
metrics in the contract's namespace, per endpoint and status class, and (unless caller metrics are off) per
endpoint, caller and status class. This module finds the callers (ListMetrics) and reads the sums, medians and
instance data points of a window (GetMetricData), in as few calls as the API allows. botocore's CloudWatch
client, passed in; every limit below is quoted from botocore's service model for CloudWatch (2010-08-01).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from invoke_proxy import contract

from .errors import CliError

# GetMetricData: "A single GetMetricData call can include as many as 500 MetricDataQuery structures", "with a
# total of as many as 100,800 data points"; past MaxDatapoints (default 100,800) the answer paginates with
# NextToken (botocore's model: GetMetricData, MetricDataQueries, MaxDatapoints).
MAX_QUERIES_PER_CALL = 500

# ListMetrics "doesn't return information about metrics if those metrics haven't reported data in the past two
# weeks" (botocore's model: ListMetrics): a caller silent for longer is not found, though its data is kept.
LIST_METRICS_DAYS = 14

# Instance hours. SageMaker publishes its instance metrics (CPUUtilization, MemoryUtilization, GPUUtilization,
# ...) in /aws/sagemaker/Endpoints with dimensions EndpointName and VariantName, at a 1-minute frequency, and
# "each instance reports" them (SageMaker Developer Guide, "Amazon SageMaker AI metrics in Amazon CloudWatch",
# endpoint instance metrics; the publishing interval is configurable through the endpoint config's
# MetricsConfig, default 60 s, which this stack leaves alone). So the SampleCount of CPUUtilization over a window
# counts instance-minutes, whatever the number of instances, in either hosting mode (the instance metrics are
# per variant with inference components too). That reading of SampleCount is ours, not a documented formula:
# the report says so under its table.
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
INSTANCE_METRIC = "CPUUtilization"
INSTANCE_METRIC_INTERVAL_S = 60
#: The production variant the stack's endpoint serves from (the constructs name it AllTraffic in either mode).
VARIANT_NAME = "AllTraffic"


# IAM refusals, as CloudWatch and CloudFormation spell them (query and JSON protocols).
class UsageRefused(CliError):
    """What stops the report short of figures (a refused permission, caller metrics off): the message, and the
    one-line ``status`` the report's only row shows instead of figures."""

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
PERMISSIONS = (
    "cloudwatch:ListMetrics, cloudwatch:GetMetricData (and cloudformation:DescribeStacks with --stack)"
)

Dimensions = tuple[tuple[str, str], ...]
Point = tuple[dt.datetime, float]


@dataclass(frozen=True)
class Query:
    """One statistic of one metric: a MetricDataQuery without its Id and period."""

    metric: str
    dimensions: Dimensions
    stat: str
    namespace: str = contract.NAMESPACE

    def request(self, query_id: str, period: int) -> dict[str, Any]:
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": name, "Value": value} for name, value in self.dimensions],
                },
                "Period": period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }


def instance_query(endpoint_name: str) -> Query:
    """The data points the endpoint's instances publish, one per instance per minute (see above)."""
    return Query(
        INSTANCE_METRIC,
        (("EndpointName", endpoint_name), ("VariantName", VARIANT_NAME)),
        "SampleCount",
        namespace=INSTANCE_NAMESPACE,
    )


def instance_hours(data_points: float) -> float:
    """Instance hours from a SampleCount of the instance metric."""
    return data_points * INSTANCE_METRIC_INTERVAL_S / 3600


def call(client: Any, operation: str, permission: str, **params: Any) -> dict[str, Any]:
    """One API call; a refusal names the IAM permission that is missing, any other error says what failed."""
    from botocore.exceptions import ClientError

    try:
        answer: dict[str, Any] = getattr(client, operation)(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = error.get("Message") or str(exc)
        if error.get("Code") in DENIED_CODES:
            raise UsageRefused(
                f"Permission denied: the report needs {permission} ({message}). "
                f"Grant the identity you run as: {PERMISSIONS}.",
                status=f"(no permission: {permission})",
            ) from None
        raise CliError(f"{permission.split(':')[0]} refused {operation}: {message}") from None
    return answer


def request_metric_dimensions(cloudwatch: Any, endpoint_name: str) -> list[dict[str, str]]:
    """The dimensions of every Requests metric of the endpoint that had data in the last two weeks: one per
    dimension set and value (endpoint and status class, route, caller), following NextToken."""
    found: list[dict[str, str]] = []
    params: dict[str, Any] = {
        "Namespace": contract.NAMESPACE,
        "MetricName": contract.REQUESTS,
        # "If you specify one dimension name and a metric has that dimension and also other dimensions, it will
        # be returned" (botocore's model: ListMetrics, Dimensions): every dimension set of the endpoint.
        "Dimensions": [{"Name": contract.ENDPOINT_NAME, "Value": endpoint_name}],
    }
    while True:
        answer = call(cloudwatch, "list_metrics", "cloudwatch:ListMetrics", **params)
        for metric in answer.get("Metrics", []):
            found.append({d["Name"]: d["Value"] for d in metric.get("Dimensions", [])})
        token = answer.get("NextToken")
        if not token:
            return found
        params["NextToken"] = token


def get_metric_data(
    cloudwatch: Any, queries: Sequence[Query], *, start: dt.datetime, end: dt.datetime, period: int
) -> list[list[Point]]:
    """Each query's data points over [start, end), oldest first: up to 500 queries a call, every page."""
    points: list[list[Point]] = [[] for _ in queries]
    for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
        batch = range(first, min(first + MAX_QUERIES_PER_CALL, len(queries)))
        params: dict[str, Any] = {
            "MetricDataQueries": [queries[i].request(f"q{i}", period) for i in batch],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            answer = call(cloudwatch, "get_metric_data", "cloudwatch:GetMetricData", **params)
            for result in answer.get("MetricDataResults", []):
                if result.get("StatusCode") == "InternalError":
                    raise CliError(
                        f"CloudWatch could not read {result.get('Label') or result['Id']}: try again."
                    )
                index = int(result["Id"][1:])
                points[index].extend(zip(result.get("Timestamps", []), result.get("Values", []), strict=True))
            token = answer.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    return points
