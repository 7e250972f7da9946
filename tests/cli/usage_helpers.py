"""CloudWatch for the usage report's tests: a metric store fed with the proxy's EMF documents (or plain points)
that answers ListMetrics and GetMetricData as CloudWatch would (Sum, SampleCount and p50 per period), served
through botocore's Stubber."""

from __future__ import annotations

import contextlib
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from mistral_client import transport, usage
from mistral_client.usage_metrics import Query, instance_query

ENDPOINT = "mistral-7b-instruct"
STACK = "MistralEndpointStack"
REGION = "eu-west-1"
NOW = dt.datetime(2026, 12, 10, 12, 0, 30, tzinfo=dt.UTC)
# --since/--until of most tests: a week of whole days, 1-minute data points still kept (less than 15 days ago).
SINCE, UNTIL = "2026-12-03", "2026-12-10"
START, END = dt.datetime(2026, 12, 3, tzinfo=dt.UTC), dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
WEEK_S = 7 * 86400

Key = tuple[str, str, frozenset[tuple[str, str]]]


class MetricStore:
    """Data points by (namespace, metric, dimensions), as CloudWatch keeps them."""

    def __init__(self) -> None:
        self.points: dict[Key, list[tuple[dt.datetime, float]]] = defaultdict(list)

    def put(
        self, namespace: str, metric: str, dimensions: dict[str, str], when: dt.datetime, value: float
    ) -> None:
        self.points[(namespace, metric, frozenset(dimensions.items()))].append((when, value))

    def put_emf(self, document: dict[str, Any]) -> None:
        """What CloudWatch Logs extracts from one EMF line: each directive's metrics, once per dimension set."""
        when = dt.datetime.fromtimestamp(document["_aws"]["Timestamp"] / 1000, dt.UTC)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for names in directive["Dimensions"]:
                dimensions = {name: document[name] for name in names}
                for metric in directive["Metrics"]:
                    self.put(
                        directive["Namespace"], metric["Name"], dimensions, when, document[metric["Name"]]
                    )

    def instances(self, count: int, minutes: int, start: dt.datetime) -> None:
        """``count`` instances publishing CPUUtilization once a minute for ``minutes``."""
        query = instance_query(ENDPOINT)
        for minute in range(minutes):
            for _ in range(count):
                when = start + dt.timedelta(minutes=minute)
                self.put(query.namespace, query.metric, dict(query.dimensions), when, 12.5)

    def list_metrics(self, namespace: str, metric: str, endpoint: str) -> dict[str, Any]:
        return {
            "Metrics": [
                {
                    "Namespace": ns,
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dims)],
                }
                for ns, name, dims in self.points
                if (ns, name) == (namespace, metric) and ("EndpointName", endpoint) in dims
            ]
        }

    def series(
        self, query: Query, start: dt.datetime, end: dt.datetime, period: int
    ) -> tuple[list[dt.datetime], list[float]]:
        buckets: dict[dt.datetime, list[float]] = defaultdict(list)
        for when, value in self.points.get((query.namespace, query.metric, frozenset(query.dimensions)), []):
            if start <= when < end:
                index = int((when - start).total_seconds()) // period
                buckets[start + dt.timedelta(seconds=index * period)].append(value)
        stats: dict[str, Callable[[list[float]], float]] = {
            "Sum": sum,
            "SampleCount": len,
            "p50": statistics.median,
        }
        stat = stats[query.stat]
        stamps = sorted(buckets)
        return stamps, [float(stat(buckets[s])) for s in stamps]

    def metric_data(
        self, queries: Sequence[Query], start: dt.datetime, end: dt.datetime, period: int, first: int = 0
    ) -> dict[str, Any]:
        results = []
        for index, query in enumerate(queries, start=first):
            stamps, values = self.series(query, start, end, period)
            results.append(
                {
                    "Id": f"q{index}",
                    "Label": query.metric,
                    "Timestamps": stamps,
                    "Values": values,
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": results, "Messages": []}


def metric_data_request(
    queries: Sequence[Query], start: dt.datetime, end: dt.datetime, period: int
) -> dict[str, Any]:
    return {
        "MetricDataQueries": [q.request(f"q{i}", period) for i, q in enumerate(queries)],
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }


def callers_in(store: MetricStore) -> dict[str, list[str]]:
    """Each caller's status classes, as ListMetrics shows them."""
    found: dict[str, set[str]] = defaultdict(set)
    for _, metric, dims in store.points:
        named = dict(dims)
        if metric == "Requests" and "Caller" in named:
            found[named["Caller"]].add(named["StatusClass"])
    return {caller: sorted(classes) for caller, classes in found.items()}


@dataclass
class Aws:
    """Stubbed CloudWatch and CloudFormation clients, and the regions the command created them for."""

    cloudwatch: Stubber
    cloudformation: Stubber
    regions: list[tuple[str, str | None]] = field(default_factory=list)

    def list_metrics(self, store: MetricStore) -> None:
        self.cloudwatch.add_response(
            "list_metrics",
            store.list_metrics("MistralEndpoint", "Requests", ENDPOINT),
            {
                "Namespace": "MistralEndpoint",
                "MetricName": "Requests",
                "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}],
            },
        )

    def metric_data(
        self, store: MetricStore, queries: Sequence[Query], start: dt.datetime, end: dt.datetime, period: int
    ) -> None:
        self.cloudwatch.add_response(
            "get_metric_data",
            store.metric_data(queries, start, end, period),
            metric_data_request(queries, start, end, period),
        )

    def caller_report(self, store: MetricStore, start: dt.datetime = START, end: dt.datetime = END) -> None:
        """The calls of ``usage --by caller``: ListMetrics, then one GetMetricData over one period."""
        self.list_metrics(store)
        queries = [q for _, q in usage.caller_queries(ENDPOINT, callers_in(store))] + [
            instance_query(ENDPOINT)
        ]
        self.metric_data(store, queries, start, end, int((end - start).total_seconds()))

    def day_report(self, store: MetricStore, start: dt.datetime = START, end: dt.datetime = END) -> None:
        """The calls of ``usage --by day``: daily sums, then the window's median."""
        queries = [q for _, q in usage.caller_queries(ENDPOINT, {})] + [instance_query(ENDPOINT)]
        self.metric_data(store, queries, start, end, 86400)
        self.metric_data(
            store, [usage.median_query(ENDPOINT)], start, end, int((end - start).total_seconds())
        )

    def done(self) -> None:
        self.cloudwatch.assert_no_pending_responses()
        self.cloudformation.assert_no_pending_responses()


@contextlib.contextmanager
def stubbed_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Stubbed clients where the command creates its own, and the clock at NOW."""
    session = botocore.session.get_session()
    clients = {
        service: session.create_client(service, region_name=REGION)
        for service in ("cloudwatch", "cloudformation")
    }
    stubbed = Aws(Stubber(clients["cloudwatch"]), Stubber(clients["cloudformation"]))

    def create_client(session: Any, service: str, region: str | None) -> Any:
        stubbed.regions.append((service, region))
        return clients[service]

    monkeypatch.setattr(transport, "create_client", create_client)
    monkeypatch.setattr(usage, "utc_now", lambda: NOW)
    with stubbed.cloudwatch, stubbed.cloudformation:
        yield stubbed
