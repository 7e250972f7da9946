"""Benchmark: synthesizing MistralEndpointStack, as a ratio to an empty aws-cdk-lib app, in one run.

Two measurements, each case timed wall-clock, cases interleaved and repeated, medians compared against an empty
app run the way app.py runs (stacks/app_process.py), so that the ratio is what the stack costs and not how the
process ends; the plain empty app (`app.synth()` and Python's own exit) is printed beside it:
- app: a fresh Python process running what `cdk synth` runs (`python app.py`, with the context in CDK_CONTEXT_JSON
  and a temporary cloud assembly directory in CDK_OUTDIR): the part of a synth this project controls;
- cli: the whole `npx cdk synth` through the pinned CLI, as a user runs it (`--via cli`).

    python scripts/bench_synth.py [--repeat 7] [--via app|cli|both]

Beside each ratio, what the case costs beyond that baseline, in seconds: the stack's own cost, measured like for
like. The ratio is 1 + that cost / the baseline's time, so a process change that makes the empty app faster
raises the ratio of an unchanged stack (docs/maintainers/development.md, "Synth time").

Issue 15's target, at most 1.5x the empty app with the three cdk-nag packs, app process, is read at the end
against the empty app the issue measured, the plain one: the stack's own cost added to it, (plain + own cost) /
plain. The stack's whole time against the plain empty app is printed there too; it credits the stack with the
process changes. NODE_OPTIONS, when set, is printed in the header: it changes the plain empty app's time.
(Issue 2's targets were 1.5x without the packs and 2x with them.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]

EMPTY_APP = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""
# The same empty app run the way app.py runs (stacks/app_process.py: the validation engine built on a thread,
# jsii's Node process stopped with SIGTERM, no interpreter teardown). The ratios are taken against this one, so
# that they measure what the stack costs, not how the process ends; the plain empty app is printed beside it.
EMPTY_APP_AS_APP_PY = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from stacks.app_process import AppProcess
process = AppProcess()
import aws_cdk as cdk
def synth(engine):
    app = cdk.App()
    cdk.Stack(app, "Empty")
    if engine is not None:
        cdk.Validations.of(app).add_plugins(engine)
    app.synth()
    return 0
process.run(synth)
"""
BASELINE = "empty app, run as app.py runs"
PLAIN = "empty aws-cdk-lib app (plain exit)"
WITH_PACKS = "MistralEndpointStack, 3 cdk-nag packs"
TARGET = 1.5
# The project's app as `cdk synth` runs it: `python app.py`, the context in CDK_CONTEXT_JSON.
STACK_APP = REPO / "app.py"
CASES: dict[str, tuple[str | None, Mapping[str, object]]] = {
    PLAIN: (EMPTY_APP, {}),
    BASELINE: (EMPTY_APP_AS_APP_PY, {}),
    "MistralEndpointStack, no packs": (None, {"compliance": "off"}),
    WITH_PACKS: (None, {}),
}


def run_once(code: str | None, context: Mapping[str, object], via: str) -> float:
    """One synth in a fresh process: `code` as an app, or the project's app.py when `code` is None."""
    with tempfile.TemporaryDirectory() as outdir:
        env = {
            **os.environ,
            "CDK_OUTDIR": outdir,
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        }
        if code is None:
            app = [sys.executable, str(STACK_APP)]
            env["CDK_CONTEXT_JSON"] = json.dumps({**CONTEXT, **context})
        else:
            (Path(outdir) / "app.py").write_text(code)
            app = [sys.executable, str(Path(outdir) / "app.py")]
        if via == "app":
            command = app
        else:  # the CLI reads cdk.json itself and passes the context on
            options = [arg for key, value in context.items() for arg in ("--context", f"{key}={value}")]
            command = [
                "npx",
                "--no-install",
                "cdk",
                "synth",
                "--quiet",
                "--app",
                " ".join(app),
                "--output",
                outdir,
            ]
            command += options
            env.pop("CDK_CONTEXT_JSON", None)
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--via", choices=["app", "cli", "both"], default="both")
    args = parser.parse_args()
    for via in ["app", "cli"] if args.via == "both" else [args.via]:
        samples: dict[str, list[float]] = {name: [] for name in CASES}
        for code, context in CASES.values():  # warm the OS caches once
            run_once(code, context, via)
        for _ in range(args.repeat):
            for name, (code, context) in CASES.items():
                samples[name].append(run_once(code, context, via))
        baseline = statistics.median(samples[BASELINE])
        best_baseline = min(samples[BASELINE])
        # The load average says how busy the machine was (a shared one makes the medians move); the best run
        # of each case is the one least disturbed by others, a second view of the same samples.
        node_options = (
            f", NODE_OPTIONS {os.environ['NODE_OPTIONS']!r}" if os.environ.get("NODE_OPTIONS") else ""
        )
        print(f"via {via} (load average {os.getloadavg()[0]:.2f}{node_options}):")
        for name, values in samples.items():
            median, best = statistics.median(values), min(values)
            print(
                f"  {name:40s} median {median:5.2f} s ({median / baseline:4.2f}x, {median - baseline:+5.2f} s)"
                f"  best {best:5.2f} s ({best / best_baseline:4.2f}x)  runs: {len(values)}"
            )
        if via != "app":  # the target is the app process's
            continue
        plain, stack = statistics.median(samples[PLAIN]), statistics.median(samples[WITH_PACKS])
        reading = (plain + stack - baseline) / plain
        verdict = "meets" if reading <= TARGET else "misses"
        print(
            f"  issue 15 ({TARGET}x with the packs): the stack's own {stack - baseline:+.2f} s on the plain empty"
            f" app's {plain:.2f} s is {reading:.2f}x ({verdict} it); the stack's whole time, {stack / plain:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
