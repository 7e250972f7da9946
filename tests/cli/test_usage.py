"""``mistral-invoke usage``: the window it reads, the calls it makes to CloudWatch and CloudFormation (botocore's
Stubber), the arithmetic of shares and cost, the three forms, and a clear message for each way it can fail."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import statistics
from collections.abc import Iterator
from typing import Any

import pytest
from cli_helpers import Run
from synth_helpers import REPO
from usage_helpers import (
    END,
    ENDPOINT,
    NOW,
    REGION,
    SINCE,
    STACK,
    START,
    UNTIL,
    WEEK_S,
    Aws,
    MetricStore,
    metric_data_request,
    stubbed_aws,
)

from mistral_client import usage, usage_report
from mistral_client.usage_metrics import Query, get_metric_data, instance_query
from mistral_client.usage_report import Counts


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with stubbed_aws(monkeypatch) as stubbed:
        yield stubbed


WHERE = ("usage", "--endpoint-name", ENDPOINT, "--region", REGION, "--since", SINCE, "--until", UNTIL)


def put(store: MetricStore, caller: str | None, status: str, when: dt.datetime, **values: float) -> None:
    """One request's values, under the endpoint's dimension set and (with a caller) the caller's."""
    dimension_sets = [{"EndpointName": ENDPOINT, "StatusClass": status}]
    if caller is not None:
        dimension_sets.append({"EndpointName": ENDPOINT, "Caller": caller, "StatusClass": status})
    for dimensions in dimension_sets:
        for metric, value in {"Requests": 1, **values}.items():
            store.put("MistralEndpoint", metric, dimensions, when, value)


def two_callers() -> MetricStore:
    """role/TeamA: 3 answers of 100 tokens; user/alice: 1 answer of 100 tokens and one 400; 10 instance hours."""
    store = MetricStore()
    day = START + dt.timedelta(days=1, hours=9)
    for minute, ms in enumerate((20.0, 30.0, 40.0)):
        put(
            store,
            "role/TeamA",
            "2xx",
            day + dt.timedelta(minutes=minute),
            InputTokens=10,
            GeneratedTokens=100,
            MsPerToken=ms,
        )
    put(store, "user/alice", "2xx", day, InputTokens=5, GeneratedTokens=100, MsPerToken=50.0)
    put(store, "user/alice", "4xx", day)
    store.instances(count=1, minutes=600, start=START)
    return store


def report_json(run: Run, *extra: str) -> dict[str, Any]:
    code, out, err = run(*WHERE, "--json", *extra)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


# --- the window ----------------------------------------------------------------------------------------------


def test_by_caller_reads_one_period_spanning_the_window_in_whole_minutes() -> None:
    window = usage.plan_window(dt.timedelta(days=7), None, "caller", NOW)
    assert window.start == dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    assert window.end == dt.datetime(2026, 12, 10, 12, 1, tzinfo=dt.UTC)
    assert window.period == (window.end - window.start).total_seconds()


@pytest.mark.parametrize("days, step", [(20, 300), (100, 3600)], ids=["5-minute data", "hourly data"])
def test_an_older_start_is_aligned_to_the_resolution_cloudwatch_still_keeps(days: int, step: int) -> None:
    since = NOW - dt.timedelta(days=days, seconds=1234)
    window = usage.plan_window(since, None, "caller", NOW)
    assert window.start.timestamp() % step == 0
    assert window.period % step == 0


def test_a_start_that_rounding_makes_older_than_15_days_is_aligned_to_five_minutes() -> None:
    # 15 days ago, to the second: rounded down to the minute it is just past the 1-minute data's 15 days.
    since = NOW - dt.timedelta(days=15) + dt.timedelta(seconds=1)
    window = usage.plan_window(since, None, "caller", NOW)
    assert NOW - window.start > dt.timedelta(days=15)
    assert window.start.timestamp() % 300 == 0 and window.period % 300 == 0


def test_by_day_reads_whole_utc_days() -> None:
    window = usage.plan_window(dt.timedelta(hours=30), None, "day", NOW)
    assert (window.start, window.end, window.period) == (
        dt.datetime(2026, 12, 9, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 11, tzinfo=dt.UTC),
        86400,
    )


def test_an_iso_time_with_an_offset_is_read_as_that_moment() -> None:
    assert usage.parse_time("2026-12-01T08:00+01:00") == dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


def test_an_iso_date_without_a_zone_is_utc() -> None:
    assert usage.parse_time("2026-12-01") == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


# --- bad input: exit 2 with what to fix ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, value", [("--since", "3x"), ("--until", "yesterday"), ("--hourly-price", "-1")]
)
def test_a_malformed_value_is_a_usage_error(
    run: Run, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        run("usage", "--endpoint-name", ENDPOINT, flag, value)
    assert exited.value.code == 2
    assert f"argument {flag}: {value!r}" in capsys.readouterr().err


def test_a_start_older_than_cloudwatch_keeps_exits_2(run: Run, aws: Aws) -> None:
    code, _, err = run("usage", "--endpoint-name", ENDPOINT, "--since", "500d")
    assert code == 2
    assert "CloudWatch keeps metrics for 455 days" in err


def test_a_start_after_the_end_exits_2(run: Run, aws: Aws) -> None:
    code, _, err = run("usage", "--endpoint-name", ENDPOINT, "--since", "1d", "--until", "2d")
    assert code == 2
    assert "--since" in err and "must be before --until" in err


def test_no_endpoint_named_exits_2(run: Run, aws: Aws) -> None:
    code, _, err = run("usage")
    assert (code, err) == (2, "error: Say which endpoint: --stack STACK_NAME, or --endpoint-name NAME.\n")


def test_csv_and_json_together_exit_2(run: Run, aws: Aws) -> None:
    code, _, err = run("--json", *WHERE, "--csv")
    assert (code, err) == (2, "error: choose one of --csv and --json\n")


# --- what is read ------------------------------------------------------------------------------------------------


def test_a_caller_is_read_as_sums_per_status_class_and_the_median_of_its_answers() -> None:
    dims = (("EndpointName", ENDPOINT), ("Caller", "role/TeamA"))
    keyed = usage.caller_queries(ENDPOINT, {"role/TeamA": ["2xx", "4xx"]})
    assert [query for key, query in keyed if key[0] == "role/TeamA"] == [
        Query("Requests", (*dims, ("StatusClass", "2xx")), "Sum"),
        Query("InputTokens", (*dims, ("StatusClass", "2xx")), "Sum"),
        Query("GeneratedTokens", (*dims, ("StatusClass", "2xx")), "Sum"),
        Query("Requests", (*dims, ("StatusClass", "4xx")), "Sum"),
        Query("InputTokens", (*dims, ("StatusClass", "4xx")), "Sum"),
        Query("GeneratedTokens", (*dims, ("StatusClass", "4xx")), "Sum"),
        Query("MsPerToken", (*dims, ("StatusClass", "2xx")), "p50"),
    ]


def test_instance_hours_are_read_from_the_variants_instance_data_points() -> None:
    assert instance_query(ENDPOINT).request("q0", 60)["MetricStat"] == {
        "Metric": {
            "Namespace": "/aws/sagemaker/Endpoints",
            "MetricName": "CPUUtilization",
            "Dimensions": [
                {"Name": "EndpointName", "Value": ENDPOINT},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
        },
        "Period": 60,
        "Stat": "SampleCount",
    }


def test_list_metrics_follows_next_token(run: Run, aws: Aws) -> None:
    store = two_callers()
    listed = store.list_metrics("MistralEndpoint", "Requests", ENDPOINT)["Metrics"]
    params = {
        "Namespace": "MistralEndpoint",
        "MetricName": "Requests",
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}],
    }
    aws.cloudwatch.add_response("list_metrics", {"Metrics": listed[:2], "NextToken": "page2"}, params)
    aws.cloudwatch.add_response("list_metrics", {"Metrics": listed[2:]}, {**params, "NextToken": "page2"})
    queries = [
        q for _, q in usage.caller_queries(ENDPOINT, {"role/TeamA": ["2xx"], "user/alice": ["2xx", "4xx"]})
    ]
    aws.metric_data(store, [*queries, instance_query(ENDPOINT)], START, END, WEEK_S)
    code, out, err = run(*WHERE, "--csv")
    assert code == 0, err
    assert [row["caller"] for row in csv.DictReader(io.StringIO(out))] == ["role/TeamA", "user/alice"]
    aws.done()


def test_get_metric_data_sends_at_most_500_queries_a_call_and_follows_next_token(aws: Aws) -> None:
    queries = [
        Query("Requests", (("EndpointName", ENDPOINT), ("Caller", f"role/R{i}")), "Sum") for i in range(501)
    ]
    first = metric_data_request(queries[:500], START, END, WEEK_S)
    day = START + dt.timedelta(days=1)
    page = {"Id": "q0", "Timestamps": [START], "Values": [2.0], "StatusCode": "PartialData"}
    aws.cloudwatch.add_response("get_metric_data", {"MetricDataResults": [page], "NextToken": "more"}, first)
    rest = {"Id": "q0", "Timestamps": [day], "Values": [3.0], "StatusCode": "Complete"}
    aws.cloudwatch.add_response(
        "get_metric_data", {"MetricDataResults": [rest]}, {**first, "NextToken": "more"}
    )
    second = metric_data_request(queries[500:], START, END, WEEK_S)
    second["MetricDataQueries"][0]["Id"] = "q500"
    last = {"Id": "q500", "Timestamps": [START], "Values": [7.0], "StatusCode": "Complete"}
    aws.cloudwatch.add_response("get_metric_data", {"MetricDataResults": [last]}, second)
    points = get_metric_data(
        usage.transport.create_client(None, "cloudwatch", REGION),
        queries,
        start=START,
        end=END,
        period=WEEK_S,
    )
    assert (points[0], points[500], points[1]) == ([(START, 2.0), (day, 3.0)], [(START, 7.0)], [])
    aws.done()


def test_the_stacks_outputs_give_the_endpoint_and_its_region(run: Run, aws: Aws) -> None:
    outputs = {
        "EndpointName": ENDPOINT,
        "Region": "eu-central-1",
        "InvokeUrl": "https://x.lambda-url.eu-central-1.on.aws/",
    }
    aws.cloudformation.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK,
                    "CreationTime": NOW,
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": STACK},
    )
    aws.caller_report(two_callers())
    code, _, err = run("usage", "--stack", STACK, "--since", SINCE, "--until", UNTIL)
    assert code == 0, err
    assert aws.regions == [("cloudformation", "us-east-1"), ("cloudwatch", "eu-central-1")]
    aws.done()


# --- permissions and missing metrics ----------------------------------------------------------------------------


def test_access_denied_on_list_metrics_names_the_permission(run: Run, aws: Aws) -> None:
    aws.cloudwatch.add_client_error(
        "list_metrics", "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized", 403
    )
    code, _, err = run(*WHERE)
    assert code == 1
    assert err.startswith("error: Permission denied: the report needs cloudwatch:ListMetrics (User: ")


def test_access_denied_on_get_metric_data_names_the_permission(run: Run, aws: Aws) -> None:
    aws.list_metrics(two_callers())
    aws.cloudwatch.add_client_error("get_metric_data", "AccessDenied", "not authorized", 403)
    code, _, err = run(*WHERE)
    assert code == 1
    assert "the report needs cloudwatch:GetMetricData (not authorized)" in err


def test_access_denied_on_describe_stacks_names_the_permission_and_the_way_around_it(
    run: Run, aws: Aws
) -> None:
    aws.cloudformation.add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)
    code, _, err = run("usage", "--stack", STACK)
    assert code == 1
    assert "reads the stack's outputs with cloudformation:DescribeStacks" in err
    assert "pass --endpoint-name NAME --region REGION instead of --stack" in err


def test_metrics_without_a_caller_dimension_say_caller_metrics_are_off_and_how_to_turn_them_on(
    run: Run, aws: Aws
) -> None:
    store = MetricStore()
    put(store, None, "2xx", START + dt.timedelta(hours=1), GeneratedTokens=10)
    aws.list_metrics(store)
    code, _, err = run(*WHERE)
    assert code == 1
    assert "Caller metrics are off for endpoint mistral-7b-instruct" in err
    assert "-c callerMetrics=true" in err


def test_no_requests_in_the_window_says_so(run: Run, aws: Aws) -> None:
    aws.caller_report(MetricStore())
    code, out, err = run(*WHERE)
    assert (code, err) == (0, "")
    assert (
        "* No requests to endpoint mistral-7b-instruct between 2026-12-03 00:00 UTC and 2026-12-10 00:00 UTC."
        in out
    )
    assert "CloudWatch lists no MistralEndpoint metrics for endpoint mistral-7b-instruct" in out


def only_row(out: str) -> str:
    """The first cell of the table's only row (the line after the rule under the header)."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("----"))
    return lines[rule + 1].split("  ")[0]


def test_a_refused_permission_is_the_tables_one_row(run: Run, aws: Aws) -> None:
    aws.cloudwatch.add_client_error("list_metrics", "AccessDenied", "not authorized", 403)
    code, out, _ = run(*WHERE)
    assert (code, only_row(out)) == (1, "(no permission: cloudwatch:ListMetrics)")
    assert "* Permission denied: the report needs cloudwatch:ListMetrics" in out


def test_caller_metrics_off_is_the_tables_one_row(run: Run, aws: Aws) -> None:
    store = MetricStore()
    put(store, None, "2xx", START + dt.timedelta(hours=1), GeneratedTokens=10)
    aws.list_metrics(store)
    code, out, _ = run(*WHERE)
    assert (code, only_row(out)) == (1, "(caller metrics are off)")


def test_no_requests_is_the_tables_one_row(run: Run, aws: Aws) -> None:
    aws.caller_report(MetricStore())
    code, out, _ = run(*WHERE)
    assert (code, only_row(out)) == (0, "(no requests in the window)")


def test_json_names_why_there_are_no_rows(run: Run, aws: Aws) -> None:
    aws.cloudwatch.add_client_error("list_metrics", "AccessDenied", "not authorized", 403)
    code, out, _ = run(*WHERE, "--json")
    document = json.loads(out)
    assert (code, document["status"], document["rows"]) == (1, "(no permission: cloudwatch:ListMetrics)", [])


# --- the arithmetic ------------------------------------------------------------------------------------------------


def test_each_caller_pays_its_share_of_the_generated_tokens() -> None:
    total = Counts(requests=5, generated_tokens=400)
    rows = usage_report.caller_rows(
        {"a": Counts(requests=4, generated_tokens=300), "b": Counts(requests=1, generated_tokens=100)},
        total,
        15.2,
    )
    assert [(r.label, r.share_pct, r.cost_usd) for r in rows] == [
        ("a", 75.0, pytest.approx(11.4)),
        ("b", 25.0, pytest.approx(3.8)),
    ]


def test_a_caller_that_generated_nothing_pays_nothing() -> None:
    (row,) = usage_report.caller_rows({"a": Counts(requests=3)}, Counts(requests=3), 15.2)
    assert (row.share_pct, row.cost_usd) == (None, None)


def test_requests_no_listed_caller_accounts_for_get_a_row_of_their_own(run: Run, aws: Aws) -> None:
    store = two_callers()
    put(
        store, None, "2xx", START + dt.timedelta(hours=2), InputTokens=1, GeneratedTokens=200, MsPerToken=25.0
    )
    aws.caller_report(store)
    rows = {row["caller"]: row for row in report_json(run)["rows"]}
    assert (rows["(callers not listed)"]["requests"], rows["(callers not listed)"]["generated_tokens"]) == (
        1,
        200,
    )
    assert rows["(callers not listed)"]["generated_share_pct"] == 33.333


def test_the_report_prices_the_windows_instance_hours(run: Run, aws: Aws) -> None:
    aws.caller_report(two_callers())
    document = report_json(run, "--hourly-price", "2")
    assert (document["totals"]["instance_hours"], document["totals"]["cost_usd"]) == (10.0, 20.0)
    assert [(r["caller"], r["generated_share_pct"], r["cost_usd"]) for r in document["rows"]] == [
        ("role/TeamA", 75.0, 15.0),
        ("user/alice", 25.0, 5.0),
    ]


def test_the_default_price_is_the_one_the_docs_cost_table_uses() -> None:
    price = f"${usage_report.DEFAULT_HOURLY_PRICE_USD:.2f} an hour"
    assert price in (REPO / "README.md").read_text()
    assert price in (REPO / "docs" / "operate" / "modes-and-costs.md").read_text()


# --- the three forms -----------------------------------------------------------------------------------------------


def test_the_table_has_a_row_per_caller_and_a_total(run: Run, aws: Aws) -> None:
    aws.caller_report(two_callers())
    code, out, _ = run(*WHERE)
    lines = out.splitlines()
    assert code == 0
    assert (
        lines[0]
        == "Usage of endpoint mistral-7b-instruct, 2026-12-03 00:00 UTC to 2026-12-10 00:00 UTC, by caller"
    )
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[2:8] if not line.startswith("-")]
    assert table == [
        [
            "caller",
            "requests",
            "input tokens",
            "generated tokens",
            "4xx",
            "5xx",
            "median ms/token",
            "share",
            "cost",
        ],
        ["role/TeamA", "3", "30", "300", "0", "0", "30.0", "75.0%", "$11.40"],
        ["user/alice", "2", "5", "100", "1", "0", "50.0", "25.0%", "$3.80"],
        ["total", "5", "35", "400", "1", "0", "35.0", "100.0%", "$15.20"],
    ]
    assert (
        "* instance hours: 10.00 at $1.52 an hour (ml.g5.2xlarge on demand in us-east-1; --hourly-price to change): $15.20."
        in out
    )


def test_csv_is_a_header_and_plain_numbers(run: Run, aws: Aws) -> None:
    aws.caller_report(two_callers())
    code, out, err = run(*WHERE, "--csv")
    assert code == 0
    assert out.splitlines() == [
        "caller,requests,input_tokens,generated_tokens,errors_4xx,errors_5xx,median_ms_per_token,generated_share_pct,cost_usd",
        "role/TeamA,3,30,300,0,0,30.0,75.0,11.4",
        "user/alice,2,5,100,1,0,50.0,25.0,3.8",
    ]
    assert "note: instance hours: 10.00" in err


def test_json_lists_the_rows_and_the_totals(run: Run, aws: Aws) -> None:
    aws.caller_report(two_callers())
    document = report_json(run)
    assert document["rows"][1] == {
        "caller": "user/alice",
        "requests": 2,
        "input_tokens": 5,
        "generated_tokens": 100,
        "errors_4xx": 1,
        "errors_5xx": 0,
        "median_ms_per_token": 50.0,
        "generated_share_pct": 25.0,
        "cost_usd": 3.8,
    }
    assert document["totals"] == {
        "requests": 5,
        "input_tokens": 35,
        "generated_tokens": 400,
        "errors_4xx": 1,
        "errors_5xx": 0,
        "median_ms_per_token": 35.0,
        "generated_share_pct": 100.0,
        "cost_usd": 15.2,
        "instance_hours": 10.0,
        "hourly_price_usd": 1.52,
    }


def test_by_day_has_a_row_per_utc_day_with_that_days_own_cost(run: Run, aws: Aws) -> None:
    store = two_callers()  # the requests on 2026-12-04; 600 instance-minutes from 2026-12-03 00:00
    store.instances(count=2, minutes=60, start=START + dt.timedelta(days=1))
    aws.day_report(store)
    document = report_json(run, "--by", "day")
    assert [(r["day"], r["requests"], r["generated_share_pct"], r["cost_usd"]) for r in document["rows"]] == [
        ("2026-12-03", 0, 0.0, 15.2),
        ("2026-12-04", 5, 100.0, 3.04),
    ]
    assert (document["totals"]["median_ms_per_token"], document["totals"]["cost_usd"]) == (35.0, 18.24)
    aws.done()


# --- end to end: from the proxy's own metric lines ------------------------------------------------------------

REQUESTS = [
    # (caller, route, status, prompt tokens, completion tokens, model ms, error type)
    ("role/TeamA", "/chat", 200, 120, 64, 2240, None),
    ("role/TeamA", "/v1/chat/completions", 200, 80, 200, 7400, None),
    ("role/TeamA", "/generate", 200, 15, 10, 330, None),
    ("account/210987654321", "/chat", 200, 400, 128, 5120, None),
    ("account/210987654321", "/chat", 400, None, None, None, "validation_error"),
    ("user/alice", "/generate", 200, 33, 48, 1536, None),
    ("user/alice", "/generate", 503, None, None, None, "model_scaling_up"),
    ("unverified", "/chat", 424, 12, None, 90, "model_error"),
]


def proxy_lines(caller_metrics: bool = True) -> list[dict[str, Any]]:
    """The EMF documents the proxy writes for REQUESTS, a minute apart on 2026-12-05."""
    from invoke_proxy import contract, metrics

    lines = []
    for index, (caller, route, status, prompt, completion, model_ms, error) in enumerate(REQUESTS):
        fields: dict[str, Any] = {
            "route": route,
            "status": status,
            "latency_ms": 50 + (model_ms or 0),
            "caller": caller,
        }
        fields.update({"prompt_tokens": prompt} if prompt is not None else {})
        fields.update({"completion_tokens": completion} if completion is not None else {})
        fields.update({"model_latency_ms": model_ms} if model_ms is not None else {})
        fields.update({"error_type": error} if error is not None else {})
        when = dt.datetime(2026, 12, 5, 9, index, tzinfo=dt.UTC)
        document = metrics.emf_document(
            fields,
            endpoint_name=ENDPOINT,
            routes=contract.ROUTES,
            timestamp_ms=int(when.timestamp() * 1000),
            caller_metrics=caller_metrics,
        )
        assert document is not None
        lines.append(document)
    return lines


def fed(lines: list[dict[str, Any]]) -> MetricStore:
    store = MetricStore()
    for line in lines:
        store.put_emf(line)
    store.instances(count=1, minutes=180, start=dt.datetime(2026, 12, 5, 8, tzinfo=dt.UTC))
    return store


def test_the_reports_totals_are_the_sums_of_the_proxys_metric_lines(run: Run, aws: Aws) -> None:
    lines = proxy_lines()
    aws.caller_report(fed(lines))
    totals = report_json(run)["totals"]
    assert (totals["requests"], totals["input_tokens"], totals["generated_tokens"]) == (
        len(lines),
        sum(line.get("InputTokens", 0) for line in lines),
        sum(line.get("GeneratedTokens", 0) for line in lines),
    )
    assert (totals["errors_4xx"], totals["errors_5xx"]) == (
        sum(line["StatusClass"] == "4xx" for line in lines),
        sum(line["StatusClass"] == "5xx" for line in lines),
    )
    assert (totals["instance_hours"], totals["cost_usd"]) == (3.0, 4.56)
    aws.done()


def test_each_callers_row_is_the_sum_of_its_own_metric_lines(run: Run, aws: Aws) -> None:
    lines = proxy_lines()
    aws.caller_report(fed(lines))
    rows = {row["caller"]: row for row in report_json(run)["rows"]}
    assert set(rows) == {line["Caller"] for line in lines}
    for caller, row in rows.items():
        own = [line for line in lines if line["Caller"] == caller]
        answered = sorted(
            line["MsPerToken"] for line in own if line["StatusClass"] == "2xx" and "MsPerToken" in line
        )
        assert row["requests"] == len(own), caller
        assert row["generated_tokens"] == sum(line.get("GeneratedTokens", 0) for line in own), caller
        assert row["median_ms_per_token"] == (round(statistics.median(answered), 3) if answered else None), (
            caller
        )
    assert sum(row["cost_usd"] or 0 for row in rows.values()) == pytest.approx(4.56)


def test_the_proxys_lines_without_caller_metrics_make_the_report_say_they_are_off(run: Run, aws: Aws) -> None:
    aws.list_metrics(fed(proxy_lines(caller_metrics=False)))
    code, _, err = run(*WHERE)
    assert code == 1
    assert "Caller metrics are off" in err


def test_the_daily_report_of_the_proxys_lines_holds_them_on_their_day(run: Run, aws: Aws) -> None:
    lines = proxy_lines(caller_metrics=False)  # --by day needs only the endpoint's own metrics
    aws.day_report(fed(lines))
    (day,) = report_json(run, "--by", "day")["rows"]
    assert (day["day"], day["requests"], day["generated_tokens"]) == (
        "2026-12-05",
        len(lines),
        sum(line.get("GeneratedTokens", 0) for line in lines),
    )


# --- the command line ------------------------------------------------------------------------------------------


def test_usage_takes_only_the_flags_that_locate_the_endpoint_and_shape_the_report() -> None:
    from mistral_client import cli

    command = cli.subcommands(cli.build_parser())["usage"]
    assert {flag for action in command._actions for flag in action.option_strings} == {
        "-h",
        "--help",
        "--stack",
        "--endpoint-name",
        "--profile",
        "--region",
        "--since",
        "--until",
        "--by",
        "--hourly-price",
        "--csv",
        "--json",
    }


def test_a_calling_flag_before_usage_is_a_usage_error(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--url", "http://127.0.0.1:9/", "usage", "--endpoint-name", ENDPOINT)
    assert exited.value.code == 2
    assert "--url does not apply to usage" in capsys.readouterr().err
