"""``mistral-invoke usage``: who called the endpoint, how much, and their share of its cost, from CloudWatch.

Reads the proxy's own metrics (per caller, or per UTC day across callers) and the endpoint's instance hours for
a window, and prints a table, CSV or JSON (``usage_report``). The CloudWatch calls are ``usage_metrics``; the
endpoint comes from ``--endpoint-name`` or the stack's EndpointName output (``transport.stack_outputs``, as for
``serve``). botocore is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from invoke_proxy import contract

from . import transport
from .errors import CliError
from .usage_metrics import (
    DENIED_CODES,
    INSTANCE_METRIC,
    INSTANCE_NAMESPACE,
    LIST_METRICS_DAYS,
    VARIANT_NAME,
    Point,
    Query,
    UsageRefused,
    get_metric_data,
    instance_hours,
    instance_query,
    request_metric_dimensions,
)
from .usage_report import (
    DEFAULT_HOURLY_PRICE_USD,
    OK,
    RENDERERS,
    Counts,
    Report,
    caller_rows,
    counts,
    day_rows,
    remainder,
    when,
)

EXIT_FAIL = 1  # the report could not be made: a refused permission, caller metrics off
EXIT_USAGE = 2  # bad input, as argparse exits
DEFAULT_SINCE = "7d"
RELATIVE = re.compile(r"^(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
DAY_S = 86400
# CloudWatch keeps 1-minute data points for 15 days, 5-minute ones for 63 days and hourly ones for 455 days, and
# a query starting further back than 3 hours must use a period that is a multiple of what is kept there
# (botocore's model: GetMetricData, and MetricStat.Period). The window is aligned to that, and so is the period.
RETENTION = ((dt.timedelta(days=15), 60), (dt.timedelta(days=63), 300), (dt.timedelta(days=455), 3600))
SERIES = (contract.REQUESTS, contract.INPUT_TOKENS, contract.GENERATED_TOKENS)
NOT_LISTED = "(callers not listed)"


class UsageInputError(Exception):
    """A window the report cannot read: exit 2 with the message."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_time(text: str) -> dt.timedelta | dt.datetime:
    """``7d``, ``24h``, ``90m``, ``2w`` (that long ago) or an ISO 8601 date or time (UTC unless it says)."""
    match = RELATIVE.match(text.strip())
    if match:
        return dt.timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration ago (90m, 24h, 7d, 2w) nor an ISO date (2026-12-01, "
            "2026-12-01T08:00, 2026-12-01T08:00+01:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Window:
    """What GetMetricData is asked for: [start, end), in periods of ``period`` seconds."""

    start: dt.datetime
    end: dt.datetime
    period: int


def _floor(moment: dt.datetime, step: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(moment.timestamp()) // step * step, dt.UTC)


def _ceil(moment: dt.datetime, step: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(-(-int(moment.timestamp()) // step) * step, dt.UTC)


def plan_window(
    since: dt.timedelta | dt.datetime, until: dt.timedelta | dt.datetime | None, by: str, now: dt.datetime
) -> Window:
    """The window to read: widened to whole periods CloudWatch still keeps (whole UTC days with ``--by day``);
    one period for the whole window ``--by caller`` (so the median is the window's), a day ``--by day``."""
    start = now - since if isinstance(since, dt.timedelta) else since
    end = now if until is None else (now - until if isinstance(until, dt.timedelta) else until)
    end = min(end, now)
    if start >= end:
        raise UsageInputError(f"--since ({when(start)}) must be before --until ({when(end)}) and the present")
    if by == "day":
        _retained_step(start, now)
        start, end = _floor(start, DAY_S), _ceil(end, DAY_S)
        return Window(start, end, DAY_S)
    step = _retained_step(start, now)
    # Rounding the start down can make it old enough for a coarser resolution: round again until it holds
    # (a period that is not a multiple of what CloudWatch kept returns no data points).
    while (coarser := _retained_step(_floor(start, step), now)) != step:
        step = coarser
    start, end = _floor(start, step), _ceil(end, step)
    return Window(start, end, int((end - start).total_seconds()))


def _retained_step(start: dt.datetime, now: dt.datetime) -> int:
    """The finest period CloudWatch still keeps for data points as old as ``start``."""
    step = next((s for age, s in RETENTION if now - start <= age), None)
    if step is None:
        raise UsageInputError(
            f"--since {when(start)} is more than 455 days ago: CloudWatch keeps metrics for 455 days (15 months)"
        )
    return step


# --- reading ------------------------------------------------------------------------------------------------


def proxy_queries(
    dimensions: tuple[tuple[str, str], ...], classes: Sequence[str]
) -> dict[tuple[str, str], Query]:
    """The sums of requests and tokens of each status class, and the median ms per token of successful answers."""
    queries = {
        (metric, status): Query(metric, (*dimensions, (contract.STATUS_CLASS, status)), "Sum")
        for status in classes
        for metric in SERIES
    }
    if OK in classes:
        queries[(contract.MS_PER_TOKEN, OK)] = Query(
            contract.MS_PER_TOKEN, (*dimensions, (contract.STATUS_CLASS, OK)), "p50"
        )
    return queries


Keyed = list[tuple[tuple[str, str, str], Query]]


def caller_queries(endpoint_name: str, callers: dict[str, list[str]]) -> Keyed:
    """What the report reads, keyed by (who, metric, status class): the endpoint's totals (who is "") over every
    status class, then each caller's over the classes it answered with (``callers``, from ListMetrics)."""
    endpoint = ((contract.ENDPOINT_NAME, endpoint_name),)
    keyed = [(("", *key), query) for key, query in proxy_queries(endpoint, contract.STATUS_CLASSES).items()]
    for caller, classes in callers.items():
        dims = (*endpoint, (contract.CALLER, caller))
        keyed += [((caller, *key), query) for key, query in proxy_queries(dims, classes).items()]
    return keyed


def median_query(endpoint_name: str) -> Query:
    """The endpoint's median ms per token of successful answers."""
    return proxy_queries(((contract.ENDPOINT_NAME, endpoint_name),), (OK,))[(contract.MS_PER_TOKEN, OK)]


def _median(values: Sequence[float]) -> float | None:
    # One period spans the window, so one value comes back; should CloudWatch split it, the middle one stands.
    return sorted(values)[len(values) // 2] if values else None


def _callers(dimension_sets: list[dict[str, str]]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for dimensions in dimension_sets:
        if contract.CALLER in dimensions and contract.STATUS_CLASS in dimensions:
            found[dimensions[contract.CALLER]].add(dimensions[contract.STATUS_CLASS])
    return {caller: sorted(classes) for caller, classes in found.items()}


def caller_metrics_off(endpoint_name: str) -> str:
    return (
        f"Caller metrics are off for endpoint {endpoint_name}: its metrics carry no {contract.CALLER} dimension. "
        "Turn them on (they are on by default) with the context key callerMetrics (cdk deploy -c "
        "callerMetrics=true) or the prop caller_metrics=True, and redeploy: requests from then on are counted "
        "per caller. --by day reports totals without them."
    )


def _read(
    cloudwatch: Any, keyed: Keyed, endpoint_name: str, window: Window
) -> tuple[dict[str, dict[tuple[str, str], list[Point]]], list[Point]]:
    """Every keyed query's points, by (who, metric, status), and the instance data points, in one read."""
    queries = [query for _, query in keyed] + [instance_query(endpoint_name)]
    points = get_metric_data(cloudwatch, queries, start=window.start, end=window.end, period=window.period)
    found: dict[str, dict[tuple[str, str], list[Point]]] = defaultdict(dict)
    for ((who, metric, status), _), series in zip(keyed, points, strict=False):
        found[who][(metric, status)] = series
    return found, points[-1]


def _counts(series: dict[tuple[str, str], list[Point]]) -> Counts:
    sums = {
        key: sum(v for _, v in points) for key, points in series.items() if key[0] != contract.MS_PER_TOKEN
    }
    return counts(sums, _median([v for _, v in series.get((contract.MS_PER_TOKEN, OK), [])]))


def by_caller(cloudwatch: Any, endpoint_name: str, window: Window, price: float) -> Report:
    """A row per caller ListMetrics finds, the endpoint's totals beside them, and the window's instance hours."""
    dimension_sets = request_metric_dimensions(cloudwatch, endpoint_name)
    callers = _callers(dimension_sets)
    if dimension_sets and not callers:
        raise UsageRefused(caller_metrics_off(endpoint_name), status="(caller metrics are off)")
    keyed = caller_queries(endpoint_name, callers)
    found, instance_points = _read(cloudwatch, keyed, endpoint_name, window)
    total = _counts(found[""])
    parts = {caller: _counts(found[caller]) for caller in callers}
    notes = []
    rest = remainder(total, list(parts.values()))
    if rest is not None:
        parts[NOT_LISTED] = rest
        notes.append(
            f"{NOT_LISTED}: the endpoint's requests no listed caller accounts for: callers that made none in "
            f"the last {LIST_METRICS_DAYS} days (CloudWatch's ListMetrics lists only metrics with data in that "
            "time, though it keeps the data), or requests made while caller metrics were off."
        )
    if not dimension_sets:
        notes.append(
            f"CloudWatch lists no {contract.NAMESPACE} metrics for endpoint {endpoint_name} in the last "
            f"{LIST_METRICS_DAYS} days: the proxy has served no model request in that time, or this is not the "
            "endpoint behind the proxy (check --endpoint-name, or the stack's EndpointName output)."
        )
    hours = instance_hours(sum(v for _, v in instance_points))
    rows = caller_rows(parts, total, hours * price)
    notes.append("cost: each caller's share of the generated tokens times the window's instance cost.")
    return Report("caller", endpoint_name, window.start, window.end, rows, total, hours, price, notes)


def _by_date(points: list[Point]) -> dict[dt.date, list[Point]]:
    days: dict[dt.date, list[Point]] = defaultdict(list)
    for moment, value in points:
        days[moment.astimezone(dt.UTC).date()].append((moment, value))
    return days


def by_day(cloudwatch: Any, endpoint_name: str, window: Window, price: float) -> Report:
    """A row per UTC day, across callers (the endpoint's own metrics: caller metrics not needed), each day's
    instance hours priced; the window's median from one more read over the whole window."""
    keyed = caller_queries(endpoint_name, {})
    found, instance_points = _read(cloudwatch, keyed, endpoint_name, window)
    series = {key: _by_date(points) for key, points in found[""].items()}
    days = sorted({day for per_day in series.values() for day in per_day})
    by_date = {day: _counts({key: per_day.get(day, []) for key, per_day in series.items()}) for day in days}
    hours_by_day = {
        day: instance_hours(sum(v for _, v in points)) for day, points in _by_date(instance_points).items()
    }
    (median_points,) = get_metric_data(
        cloudwatch,
        [median_query(endpoint_name)],
        start=window.start,
        end=window.end,
        period=int((window.end - window.start).total_seconds()),
    )
    whole = {key: points for key, points in found[""].items() if key[0] != contract.MS_PER_TOKEN}
    total = _counts({**whole, (contract.MS_PER_TOKEN, OK): median_points})
    hours = sum(hours_by_day.values())
    rows = day_rows(by_date, hours_by_day, price, total)
    notes = ["cost: each UTC day's own instance hours at the hourly price (idle days included)."]
    return Report("day", endpoint_name, window.start, window.end, rows, total, hours, price, notes)


def common_notes(report: Report, price_given: bool) -> list[str]:
    """What every report says under its table: no requests, the instance hours and price, what the columns are."""
    notes = []
    if report.total.requests == 0:
        notes.append(
            f"No requests to endpoint {report.endpoint_name} between {when(report.start)} and {when(report.end)}."
        )
    source = (
        "--hourly-price" if price_given else "ml.g5.2xlarge on demand in us-east-1; --hourly-price to change"
    )
    notes.append(
        f"instance hours: {report.instance_hours:,.2f} at ${report.hourly_price_usd:,.2f} an hour ({source}): "
        f"${report.cost_usd:,.2f}. Counted as the data points of {INSTANCE_NAMESPACE} {INSTANCE_METRIC} "
        f"(variant {VARIANT_NAME}), which each instance publishes once a minute."
    )
    if report.total.requests and not report.instance_hours:
        notes.append(
            f"No instance data points for endpoint {report.endpoint_name} in the window: its instances were "
            "not running (scaled to zero), or their metrics are published elsewhere; no cost to share."
        )
    notes.append(
        "median ms/token: p50 of MsPerToken over successful (2xx) answers. 5xx includes the 503s of a model "
        "waking from zero."
    )
    return notes


# --- the command --------------------------------------------------------------------------------------------


def endpoint_of(args: argparse.Namespace, session: Any) -> tuple[str, str | None]:
    """(endpoint name, region): ``--endpoint-name``, or the stack's EndpointName and Region outputs."""
    region = args.region or session.get_config_variable("region")
    if args.endpoint_name:
        return args.endpoint_name, region
    if not args.stack:
        raise UsageInputError("Say which endpoint: --stack STACK_NAME, or --endpoint-name NAME.")
    try:
        outputs = transport.stack_outputs(
            transport.create_client(session, "cloudformation", region), args.stack
        )
    except CliError as exc:
        # stack_outputs raises from None: the ClientError stays the exception's __context__ (PEP 409).
        error = getattr(exc.__context__, "response", {}).get("Error", {})
        if error.get("Code") not in DENIED_CODES:
            raise
        raise UsageRefused(
            f"Permission denied: the report reads the stack's outputs with cloudformation:DescribeStacks ({exc}). "
            "Grant it, or pass --endpoint-name NAME --region REGION instead of --stack.",
            status="(no permission: cloudformation:DescribeStacks)",
        ) from None
    if "EndpointName" not in outputs:
        raise CliError(
            f"Stack {args.stack!r} has no EndpointName output (outputs: {', '.join(sorted(outputs)) or 'none'})."
        )
    return outputs["EndpointName"], args.region or outputs.get("Region") or region


def hourly_price(text: str) -> float:
    try:
        price = float(text)
    except ValueError:
        price = -1.0
    if not price >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(
            f"{text!r}: give the instance's price in US dollars an hour, e.g. 1.52"
        )
    return price


def add_parser(commands: Any) -> None:
    """``usage``'s subcommand: where the endpoint is, the window, and the report's form."""
    usage = commands.add_parser(
        "usage",
        help="who called the endpoint and how much: requests, tokens, errors and cost share per caller or day",
        description="Read the proxy's metrics from CloudWatch and report, per caller (or per UTC day), the "
        "requests, input and generated tokens, 4xx and 5xx errors, median ms per generated token, the share of "
        "generated tokens and the matching share of the endpoint's instance cost. Callers are found with "
        f"CloudWatch's ListMetrics, which lists only those with requests in the last {LIST_METRICS_DAYS} days "
        "(older ones are summed as '(callers not listed)'). Needs cloudwatch:ListMetrics, "
        "cloudwatch:GetMetricData and, with --stack, cloudformation:DescribeStacks.",
        epilog="Example: mistral-invoke usage --stack MistralEndpointStack --since 30d --by caller",
    )
    where = usage.add_argument_group("the endpoint")
    where.add_argument(
        "--stack", default=argparse.SUPPRESS, help="read EndpointName and Region from this stack's outputs"
    )
    where.add_argument("--endpoint-name", help="the SageMaker endpoint's name (instead of --stack)")
    where.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile (default: standard chain)")
    where.add_argument(
        "--region", default=argparse.SUPPRESS, help="region (default: the stack's, or your profile's)"
    )
    window = usage.add_argument_group("the window")
    window.add_argument(
        "--since",
        type=parse_time,
        default=DEFAULT_SINCE,
        metavar="WHEN",
        help="start: a time ago (90m, 24h, 7d, 2w) or an ISO date or time, UTC unless it says (default: 7d; "
        "CloudWatch keeps 455 days)",
    )
    window.add_argument(
        "--until", type=parse_time, metavar="WHEN", help="end, in the same forms (default: now)"
    )
    report = usage.add_argument_group("the report")
    report.add_argument(
        "--by",
        choices=("caller", "day"),
        default="caller",
        help="a row per caller (needs caller metrics), or per UTC day across callers (default: caller)",
    )
    report.add_argument(
        "--hourly-price",
        type=hourly_price,
        metavar="USD",
        help=f"the instance's price an hour (default: {DEFAULT_HOURLY_PRICE_USD}, ml.g5.2xlarge in us-east-1)",
    )
    form = report.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV: a header row, then plain numbers")
    form.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="JSON: the rows, the totals, the notes"
    )


def run(args: argparse.Namespace, out: IO[str], err: IO[str], session: Any) -> int:
    """The command: the window, the endpoint, the reads, the report; exit 2 for input to fix."""
    if args.json and args.csv:
        err.write("error: choose one of --csv and --json\n")
        return EXIT_USAGE
    form = "json" if args.json else "csv" if args.csv else "table"
    price = DEFAULT_HOURLY_PRICE_USD if args.hourly_price is None else args.hourly_price
    try:
        window = plan_window(args.since, args.until, args.by, utc_now())
    except UsageInputError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    endpoint_name = args.endpoint_name or f"of stack {getattr(args, 'stack', None)}"
    try:
        endpoint_name, region = endpoint_of(args, session)
        cloudwatch = transport.create_client(session, "cloudwatch", region)
        if args.by == "day":
            report = by_day(cloudwatch, endpoint_name, window, price)
        else:
            report = by_caller(cloudwatch, endpoint_name, window, price)
    except UsageInputError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except UsageRefused as exc:  # the report still prints, its one row saying why it has no figures
        refused = Report(
            args.by, endpoint_name, window.start, window.end, [], Counts(), 0.0, price, [str(exc)], exc.status
        )
        _write(refused, form, out, err)
        err.write(f"error: {exc}\n")
        return EXIT_FAIL
    report.notes[:0] = common_notes(report, args.hourly_price is not None)
    _write(report, form, out, err)
    return 0


def _write(report: Report, form: str, out: IO[str], err: IO[str]) -> None:
    out.write(RENDERERS[form](report))
    if form == "csv":  # CSV holds figures only: what the table says under its rows goes to standard error
        err.writelines(f"note: {note}\n" for note in report.notes)
