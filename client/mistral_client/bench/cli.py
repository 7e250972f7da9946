"""``mistral-bench``: the launch article's throughput and latency table, measured on your own deployment.

``mistral-bench run`` sweeps concurrent users and input sizes against the function URL or the endpoint. It first
sends one small check request and stops (exit 1, saying what failed) if that fails; after the sweep it exits 1,
naming them, when cells have no successful request (the report files are written first, to look at);
``mistral-bench self-test`` runs a sweep against a loopback stand-in with a known timing model and checks the
measurement against the model's analytic values (within 10 %).

No CDK here; botocore is imported when a command needs it and matplotlib only when the chart is drawn.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .. import signing
from ..errors import CliError
from ..transport import DEFAULT_TIMEOUT_SECONDS, add_door_arguments
from ..version import VersionAction
from . import report, workload
from .stats import MEASURED, SKIPPED, TIMED_OUT, CellFigures
from .sweep import (
    DEFAULT_INPUT_WORDS,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_USERS,
    Cell,
    Progress,
    SweepConfig,
    check_target,
    run_sweep,
)
from .targets import OK

TOLERANCE = 0.10
# The self-test's sweeps. The short one runs in make test (seconds); the full one draws the README's chart.
SHORT_SELF_TEST = SweepConfig(
    users=(1, 4),
    input_words=(128, 2048),
    output_tokens=8,
    requests_per_user=2,
    warmup=1,
    stream=True,
    wait_after_429_s=0.2,
)
FULL_SELF_TEST = SweepConfig(
    users=DEFAULT_USERS,
    input_words=DEFAULT_INPUT_WORDS,
    output_tokens=128,
    requests_per_user=2,
    warmup=1,
    stream=True,
    wait_after_429_s=0.5,
)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected whole numbers of at least 1, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mistral-bench",
        description="Throughput and latency per token of your Mistral deployment against concurrent users and "
        "input size, in the launch article's layout (Markdown table, CSV, JSON, PNG chart).",
        epilog="Examples: mistral-bench run --stack MistralEndpointStack --target endpoint --stream; "
        "mistral-bench self-test --full --out results/",
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="sweep concurrent users and input sizes against a deployment",
        description="Sweep concurrent users and input sizes against a deployment, after one small check "
        "request. Exit status: 0 every cell has figures; 1 the check request failed (nothing was measured) "
        "or some cell has no successful request (the report files are written, and the cells named).",
    )
    _add_target(run)
    _add_sweep(run)
    _add_output(run)

    self_test = commands.add_parser(
        "self-test", help="measure a loopback stand-in with a known timing model; fail beyond 10 %% of it"
    )
    self_test.add_argument(
        "--full", action="store_true", help="the full sweep (1-128 users, 128/512/6400 words: minutes)"
    )
    self_test.add_argument("--out", type=Path, help="also write the table, CSV, JSON and chart here")
    self_test.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    return parser


def _add_target(run: argparse.ArgumentParser) -> None:
    where = run.add_argument_group("target")
    where.add_argument(
        "--stack",
        help="read the door's URL (InvokeUrl or PrivateApiUrl, see --door), EndpointName and Region from this "
        "stack's outputs",
    )
    where.add_argument(
        "--target",
        choices=["url", "endpoint"],
        help="url: a door of the proxy, the function URL or the private API (what applications see); endpoint: "
        "InvokeEndpoint directly (what the model delivers). Default: url, or endpoint when only --endpoint-name "
        "is given",
    )
    where.add_argument(
        "--url",
        help="the door's URL: the function URL or the private API's stage URL (or a local `mistral-invoke serve`)",
    )
    where.add_argument("--endpoint-name", help="the SageMaker endpoint")
    where.add_argument(
        "--inference-component-name",
        help="scale-to-zero endpoints: the model's inference component (default: the stack's "
        "InferenceComponentName output, if any)",
    )
    where.add_argument(
        "--region", help="default: the stack's Region output, the URL's, or the standard chain"
    )
    where.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    add_door_arguments(where, stack=False, url=False)  # --door, --service and --api-id, as mistral-invoke's


def _add_sweep(run: argparse.ArgumentParser) -> None:
    sweep = run.add_argument_group("sweep")
    sweep.add_argument("--users", type=_int_list, default=DEFAULT_USERS, help="default: 1,2,4,8,16,32,64,128")
    sweep.add_argument(
        "--input-words",
        type=_int_list,
        default=DEFAULT_INPUT_WORDS,
        help="prompt sizes, default: 128,512,6400",
    )
    sweep.add_argument(
        "--output-tokens", type=_positive_int, default=DEFAULT_OUTPUT_TOKENS, help="default: 128"
    )
    length = sweep.add_mutually_exclusive_group()
    length.add_argument(
        "--requests-per-user",
        type=_positive_int,
        default=3,
        help="measured requests per user and cell (default 3)",
    )
    length.add_argument("--duration", type=float, help="measure each cell this many seconds instead")
    sweep.add_argument(
        "--warmup", type=int, default=1, help="requests per user excluded from figures (default 1)"
    )
    sweep.add_argument("--stream", action="store_true", help="stream answers: adds time to first token")
    sweep.add_argument(
        "--truncate",
        type=_positive_int,
        help="TGI truncate: keep the last N prompt tokens (for long prompts)",
    )
    sweep.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="client read timeout, s (default 90)"
    )
    sweep.add_argument(
        "--wait-after-429", type=float, default=1.0, help="seconds a user waits after a 429 (default 1)"
    )


def _add_output(run: argparse.ArgumentParser) -> None:
    out = run.add_argument_group("output")
    out.add_argument("--out", type=Path, help="results folder (default: mistral-bench-<UTC time>)")
    out.add_argument("--model-label", default="mistral-7b", help="the table's model column")
    out.add_argument(
        "--instance-label", default="—", help="the table's instance type column, e.g. ml.g5.2xlarge"
    )
    out.add_argument("--no-chart", action="store_true", help="skip the PNG chart (no matplotlib needed)")


# --- run ----------------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from .targets import build_target

    config = SweepConfig(
        users=args.users,
        input_words=args.input_words,
        output_tokens=args.output_tokens,
        requests_per_user=None if args.duration is not None else args.requests_per_user,
        duration_s=args.duration,
        warmup=max(args.warmup, 0),
        stream=args.stream,
        truncate=args.truncate,
        wait_after_429_s=args.wait_after_429,
    )
    session = signing.make_session(args.profile)
    target = build_target(args, session, max(config.users))
    started = datetime.datetime.now(datetime.UTC)
    folder = args.out or Path(f"mistral-bench-{started:%Y%m%dT%H%M%SZ}")
    meta = {"started": started.isoformat(timespec="seconds")}
    labels = {"target": target.name, "model": args.model_label, "instance": args.instance_label}
    if max(config.input_words) > workload.text_words():
        err.write(
            f"note: prompts above {workload.text_words()} words cycle through the shipped text again.\n"
        )
    err.write(f"mistral-bench: {target.name}; checking it with one request\n")
    check = check_target(target, config)
    if check.kind != OK:
        raise CliError(
            f"the check request to {target.name} failed, so no sweep was run: {target.explain(check)}"
        )
    err.write(f"mistral-bench: the check request succeeded; results in {folder}/\n")
    done: list[Cell] = []

    def save(cell: Cell) -> None:  # after every cell, so an interrupted run keeps what it measured
        done.append(cell)
        report.write_results(folder, done, config, chart=False, meta=meta, **labels)

    cells = run_sweep(target, config, progress=Progress(err), on_cell=save)
    paths = report.write_results(folder, cells, config, chart=False, meta=meta, **labels)
    if not args.no_chart:
        try:
            paths["chart"] = folder / "chart.png"
            report.write_chart(
                paths["chart"], cells, title=f"mistral-bench: {args.model_label} on {args.instance_label}"
            )
        except report.ChartUnavailable as exc:
            err.write(f"warning: {exc}\n")
            paths.pop("chart")
    out.write((folder / "results.md").read_text(encoding="utf-8"))
    err.write("wrote " + ", ".join(str(p) for p in paths.values()) + "\n")
    empty = report.cells_without_success(cells)
    if empty:
        err.write(
            f"mistral-bench: FAILED: {len(empty)} of {len(cells)} cells have no successful request, so no "
            f"figures (the files above show what happened):\n" + "".join(f"  - {line}\n" for line in empty)
        )
        return 1
    return 0


# --- self-test ----------------------------------------------------------------------------------------------


def _within(measured: float | None, expected: float) -> bool:
    return measured is not None and abs(measured - expected) <= TOLERANCE * expected


def check_cell(figures: CellFigures, model: Any) -> list[str]:
    """What is wrong with one self-test cell against the timing model (empty: it agrees)."""
    e = model.expected(figures.users, figures.input_words, figures.output_tokens)
    where = f"{figures.input_words} words x {figures.users} users"
    if e.timed_out:
        if figures.state in (TIMED_OUT, SKIPPED):
            return []
        return [
            f"{where}: expected every request to time out ({e.request_s:.1f} s > limit), state {figures.state}"
        ]
    if figures.state != MEASURED:
        return [
            f"{where}: expected {e.request_s:.1f} s requests within the limit, but the cell {figures.state}"
        ]
    problems = []
    if figures.errors_5xx or figures.timeouts or figures.errors_other or figures.short:
        problems.append(f"{where}: unexpected failures {figures.errors_by_message}")
    if e.over_cap:
        if not figures.errors_429:
            problems.append(f"{where}: more users than the cap, but no 429 was counted")
    elif figures.errors_429:
        problems.append(f"{where}: {figures.errors_429} unexpected 429s below the cap")
    checks = [
        ("ms/token p50", figures.ms_per_token_p50, e.ms_per_token),
        ("TTFT p50 ms", figures.ttft_ms_p50, e.ttft_ms),
    ]
    # Above the cap, refused users come back at times no closed form predicts; per-request figures still hold.
    if not e.over_cap:
        checks.insert(0, ("throughput", figures.throughput_tps, e.throughput_tps))
    for name, measured, wanted in checks:
        if not _within(measured, wanted):
            shown = "none" if measured is None else f"{measured:.1f}"
            problems.append(f"{where}: {name} {shown}, expected {wanted:.1f} (±{TOLERANCE:.0%})")
    return problems


def cmd_self_test(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    import botocore.session

    from ..standin import StandIn, TimingModel
    from .targets import EndpointTarget, endpoint_client

    config = FULL_SELF_TEST if args.full else SHORT_SELF_TEST
    model = TimingModel()
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    session = botocore.session.Session()
    session.set_credentials("standin", "standin")  # the stand-in checks no signature; botocore still signs
    with StandIn(model) as stand_in:
        client = endpoint_client(
            session, "us-east-1", 2 * model.container_timeout_s, max(config.users), stand_in.url
        )
        target = EndpointTarget(client, stand_in.endpoint_name)
        target.name = f"loopback stand-in ({stand_in.url})"
        cells = run_sweep(target, config, progress=Progress(err))

    def expected(figures: CellFigures) -> dict[str, float]:
        e = model.expected(figures.users, figures.input_words, figures.output_tokens)
        return {
            "throughput_tps": e.throughput_tps,
            "ms_per_token": e.ms_per_token,
            "ttft_ms": e.ttft_ms,
            "requests_per_s": e.requests_per_s,
        }

    problems = [problem for cell in cells for problem in check_cell(cell.figures, model)]
    if args.out:
        meta = {"started": started, "timing_model": model.__dict__, "tolerance": TOLERANCE}
        labels = {"target": target.name, "model": "stand-in (not a GPU)", "instance": "loopback"}
        paths = report.write_results(
            args.out, cells, config, chart=False, expected=expected, meta=meta, **labels
        )
        if not args.no_chart:
            try:
                paths["chart"] = args.out / "chart.png"
                report.write_chart(
                    paths["chart"],
                    cells,
                    title="mistral-bench self-test: the loopback stand-in's timing model, not a GPU",
                    expected=expected,
                )
            except report.ChartUnavailable as exc:
                err.write(f"warning: {exc}\n")
                paths.pop("chart")
        err.write("wrote " + ", ".join(str(p) for p in paths.values()) + "\n")
    for cell in cells:
        f, e = cell.figures, expected(cell.figures)
        out.write(
            f"{f.input_words:>5} words x {f.users:>3} users: {f.state:8} "
            f"throughput {report._num(f.throughput_tps):>7} (model {e['throughput_tps']:.1f}), "
            f"ms/token {report._num(f.ms_per_token_p50):>6} (model {e['ms_per_token']:.1f}), "
            f"TTFT {report._num(f.ttft_ms_p50):>6} ms (model {e['ttft_ms']:.1f}), 429s {f.errors_429}\n"
        )
    if problems:
        out.write("self-test FAILED:\n" + "".join(f"  - {p}\n" for p in problems))
        return 1
    out.write(f"self-test passed: {len(cells)} cells within {TOLERANCE:.0%} of the timing model\n")
    return 0


def main(
    argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        if args.command == "self-test":
            return cmd_self_test(args, out, err)
        return cmd_run(args, out, err)
    except CliError as exc:
        err.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        package = (exc.name or "").split(".")[0]
        if package not in ("boto3", "botocore"):
            raise
        err.write(f"error: mistral-bench needs {package}: pip install mistral-endpoint-client\n")
        return 1
    except Exception as exc:
        if type(exc).__module__.startswith("botocore"):
            err.write(f"error: {exc}\n")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
