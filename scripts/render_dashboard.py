"""Render the layout of MistralEndpointStack's CloudWatch dashboard, from the synthesized template, as a PNG.

Each widget is drawn where CloudWatch places it (a 24-column grid), with its title and the series it plots
(left axis, and right axis in italics). The README shows the result.

    python scripts/render_dashboard.py [--out docs/dashboard.png] [-c key=value ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROW_UNIT = 0.55  # inches per grid row
COLUMN_UNIT = 0.62  # inches per grid column


def dashboard_body(context: dict[str, Any]) -> dict[str, Any]:
    """The default stack's dashboard body, tokens (Ref, GetAtt) replaced by readable placeholders."""
    import aws_cdk as cdk

    from app import build_app

    cdk_context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = build_app(cdk.App(context={**cdk_context, **context, "compliance": "off"}))
    template = app.synth().get_stack_by_name("MistralEndpointStack").template
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict) and "Fn::Join" in body:
        body = "".join(_placeholder(part) for part in body["Fn::Join"][1])
    return json.loads(body)


def _placeholder(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return "<region>" if part["Ref"] == "AWS::Region" else "<function>"
    return "<token>"


def series_labels(widget: dict[str, Any]) -> list[tuple[str, bool]]:
    """(label, on the right axis) of each visible series of a metric widget."""
    labels = []
    for entry in widget.get("properties", {}).get("metrics", []):
        options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
        if options.get("visible") is False:
            continue
        label = options.get("label") or (entry[1] if len(entry) > 1 and isinstance(entry[1], str) else "?")
        stat = options.get("stat")
        if stat and not options.get("label"):
            label = f"{label} ({stat})"
        labels.append((label, options.get("yAxis") == "right"))
    return labels


def render(body: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    widgets = body["widgets"]
    rows = max(w["y"] + w["height"] for w in widgets)
    figure = plt.figure(figsize=(24 * COLUMN_UNIT, rows * ROW_UNIT))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, 24)
    axes.set_ylim(rows, 0)
    axes.axis("off")
    colours = {"text": "#f2f2f2", "metric": "#e8f1fb", "alarm": "#fdf0e6"}
    for widget in widgets:
        x, y, width, height = widget["x"], widget["y"], widget["width"], widget["height"]
        kind = widget["type"]
        axes.add_patch(
            FancyBboxPatch(
                (x + 0.1, y + 0.1),
                width - 0.2,
                height - 0.2,
                boxstyle="round,pad=0,rounding_size=0.15",
                facecolor=colours.get(kind, "#ffffff"),
                edgecolor="#7a8a99",
            )
        )
        properties = widget.get("properties", {})
        if kind == "text":
            title = properties.get("markdown", "").splitlines()[0].lstrip("# ")
            axes.text(x + 0.4, y + 0.6, "Dashboard: endpoint " + title, fontsize=11, weight="bold", va="top")
            axes.text(
                x + 0.4, y + 1.2, properties["markdown"].splitlines()[1], fontsize=8.5, va="top", wrap=True
            )
            continue
        title = properties.get("title", kind)
        axes.text(x + 0.35, y + 0.55, title, fontsize=9.5, weight="bold", va="top")
        if kind == "alarm":
            axes.text(
                x + 0.35,
                y + 1.3,
                f"{len(properties.get('alarms', []))} alarms, one status tile each",
                fontsize=8,
                va="top",
            )
            continue
        for line, (label, right) in enumerate(series_labels(widget)):
            axes.text(
                x + (width - 0.35 if right else 0.35),
                y + 1.3 + 0.55 * line,
                ("right: " if right else "") + label,
                fontsize=7.5,
                va="top",
                ha="right" if right else "left",
                style="italic" if right else "normal",
            )
        annotations = properties.get("annotations", {}).get("horizontal", [])
        for annotation in annotations:
            axes.text(
                x + 0.35, y + height - 0.4, f"line: {annotation.get('label')}", fontsize=7, color="#a33"
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    parser.add_argument("-c", "--context", action="append", default=[], help="key=value, as cdk synth -c")
    args = parser.parse_args(argv)
    context = dict(item.split("=", 1) for item in args.context)
    render(dashboard_body(context), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
