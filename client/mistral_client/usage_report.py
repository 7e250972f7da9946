"""The usage report's arithmetic and its three forms: an aligned table, CSV and JSON.

A row is a caller (or a UTC day): its requests, tokens, errors by class, median time per generated token, its share
of the window's generated tokens, and the cost that goes with it. Pure functions over numbers already read from
CloudWatch (``usage_metrics``), so the arithmetic is tested without AWS.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from invoke_proxy import contract

# One ml.g5.2xlarge (the stack's default instance type), on demand in us-east-1: "about $1.52 an hour", the
# price README.md's "What each mode costs" table and docs/operate/modes-and-costs.md use. Another instance type
# or region: --hourly-price.
DEFAULT_HOURLY_PRICE_USD = 1.52

OK, CLIENT_ERROR, SERVER_ERROR = contract.STATUS_CLASSES

#: The columns, as CSV and JSON name them, and as the table heads them.
COLUMNS = (
    ("requests", "requests"),
    ("input_tokens", "input tokens"),
    ("generated_tokens", "generated tokens"),
    ("errors_4xx", "4xx"),
    ("errors_5xx", "5xx"),
    ("median_ms_per_token", "median ms/token"),
    ("generated_share_pct", "share"),
    ("cost_usd", "cost"),
)


@dataclass(frozen=True)
class Counts:
    """What the metrics say of one caller, one day or the whole endpoint over the window."""

    requests: int = 0
    input_tokens: int = 0
    generated_tokens: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    median_ms_per_token: float | None = None


def counts(sums: Mapping[tuple[str, str], float], median_ms_per_token: float | None) -> Counts:
    """Counts from metric sums keyed by (metric, status class): every class's requests and tokens, and the
    requests of the 4xx and 5xx classes as errors."""

    def total(metric: str, *classes: str) -> int:
        return round(sum(sums.get((metric, c), 0.0) for c in classes or contract.STATUS_CLASSES))

    return Counts(
        requests=total(contract.REQUESTS),
        input_tokens=total(contract.INPUT_TOKENS),
        generated_tokens=total(contract.GENERATED_TOKENS),
        errors_4xx=total(contract.REQUESTS, CLIENT_ERROR),
        errors_5xx=total(contract.REQUESTS, SERVER_ERROR),
        median_ms_per_token=median_ms_per_token,
    )


def remainder(total: Counts, parts: Sequence[Counts]) -> Counts | None:
    """What the endpoint's totals hold beyond the listed parts (callers ListMetrics no longer lists), or None."""
    left = Counts(
        requests=total.requests - sum(p.requests for p in parts),
        input_tokens=total.input_tokens - sum(p.input_tokens for p in parts),
        generated_tokens=total.generated_tokens - sum(p.generated_tokens for p in parts),
        errors_4xx=total.errors_4xx - sum(p.errors_4xx for p in parts),
        errors_5xx=total.errors_5xx - sum(p.errors_5xx for p in parts),
    )
    return left if left.requests > 0 else None


@dataclass(frozen=True)
class Row:
    label: str
    counts: Counts
    share_pct: float | None  # of the window's generated tokens
    cost_usd: float | None

    def values(self) -> dict[str, Any]:
        c = self.counts
        return {
            "requests": c.requests,
            "input_tokens": c.input_tokens,
            "generated_tokens": c.generated_tokens,
            "errors_4xx": c.errors_4xx,
            "errors_5xx": c.errors_5xx,
            "median_ms_per_token": None if c.median_ms_per_token is None else round(c.median_ms_per_token, 3),
            "generated_share_pct": None if self.share_pct is None else round(self.share_pct, 3),
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 4),
        }


def share_pct(part: int, whole: int) -> float | None:
    return None if whole <= 0 else 100.0 * part / whole


def caller_rows(by_caller: Mapping[str, Counts], total: Counts, total_cost: float) -> list[Row]:
    """One row per caller, most generated tokens first: its share of the generated tokens, and that share of
    the window's instance cost (callers share the instances; a caller that generated nothing pays nothing)."""
    rows = []
    for label, c in by_caller.items():
        share = share_pct(c.generated_tokens, total.generated_tokens)
        rows.append(Row(label, c, share, None if share is None else total_cost * share / 100))
    return sorted(rows, key=lambda r: (-r.counts.generated_tokens, -r.counts.requests, r.label))


def day_rows(
    by_day: Mapping[dt.date, Counts], hours_by_day: Mapping[dt.date, float], price: float, total: Counts
) -> list[Row]:
    """One row per UTC day, in order: its share of the window's generated tokens, and its own cost (that
    day's instance hours at the price), idle days included."""
    days = sorted(set(by_day) | set(hours_by_day))
    return [
        Row(
            day.isoformat(),
            by_day.get(day, Counts()),
            share_pct(by_day.get(day, Counts()).generated_tokens, total.generated_tokens),
            hours_by_day.get(day, 0.0) * price,
        )
        for day in days
    ]


@dataclass(frozen=True)
class Report:
    by: str  # "caller" or "day"
    endpoint_name: str
    start: dt.datetime
    end: dt.datetime
    rows: list[Row]
    total: Counts
    instance_hours: float
    hourly_price_usd: float
    notes: list[str] = field(default_factory=list)
    #: Why there are no figures, shown as the table's only row: "(no requests in the window)",
    #: "(no permission: cloudwatch:ListMetrics)", "(caller metrics are off)"; None when there are rows.
    status: str | None = None

    @property
    def cost_usd(self) -> float:
        return self.instance_hours * self.hourly_price_usd

    def total_row(self) -> Row:
        return Row(
            "total",
            self.total,
            share_pct(self.total.generated_tokens, self.total.generated_tokens),
            self.cost_usd,
        )


#: The only row of a window without requests.
NO_REQUESTS = "(no requests in the window)"


def when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- the three forms ------------------------------------------------------------------------------------------


def aligned(rows: Sequence[Sequence[str]], *, left: int = 1, rule_before_last: bool = False) -> list[str]:
    """Rows of cells as lines of aligned columns: the first ``left`` columns flush left, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    rule = "  ".join("-" * w for w in widths)
    lines.insert(1, rule)
    if rule_before_last:
        lines.insert(len(lines) - 1, rule)
    return lines


def _cells(row: Row) -> list[str]:
    v = row.values()
    median = "-" if v["median_ms_per_token"] is None else f"{v['median_ms_per_token']:.1f}"
    share = "-" if v["generated_share_pct"] is None else f"{v['generated_share_pct']:.1f}%"
    cost = "-" if row.cost_usd is None else f"${row.cost_usd:,.2f}"
    counted = [
        f"{v[name]:,}"
        for name in ("requests", "input_tokens", "generated_tokens", "errors_4xx", "errors_5xx")
    ]
    return [row.label, *counted, median, share, cost]


def heading(report: Report) -> str:
    return f"Usage of endpoint {report.endpoint_name}, {when(report.start)} to {when(report.end)}, by {report.by}"


def render_table(report: Report) -> str:
    head = ["caller" if report.by == "caller" else "day (UTC)", *(title for _, title in COLUMNS)]
    lines = [heading(report), ""]
    if report.rows:
        rows = [head, *(_cells(row) for row in report.rows), _cells(report.total_row())]
        lines += [*aligned(rows, rule_before_last=True), ""]
    else:  # one clear row saying why there are no figures
        lines += [*aligned([head, [report.status or NO_REQUESTS, *("-" for _ in COLUMNS)]]), ""]
    lines += [f"* {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def render_csv(report: Report) -> str:
    """A header row and one row per caller (or day), plain numbers: no totals row, nothing to double count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([report.by, *(name for name, _ in COLUMNS)])
    for row in report.rows:
        values = row.values()
        writer.writerow([row.label, *("" if values[name] is None else values[name] for name, _ in COLUMNS)])
    return buffer.getvalue()


def render_json(report: Report) -> str:
    document = {
        "endpoint_name": report.endpoint_name,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "by": report.by,
        "status": report.status or (None if report.rows else NO_REQUESTS),
        "rows": [{report.by: row.label, **row.values()} for row in report.rows],
        "totals": {
            **report.total_row().values(),
            "instance_hours": round(report.instance_hours, 4),
            "hourly_price_usd": report.hourly_price_usd,
        },
        "notes": report.notes,
    }
    return json.dumps(document, indent=2) + "\n"


RENDERERS = {"table": render_table, "csv": render_csv, "json": render_json}
