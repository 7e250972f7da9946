"""``mistral-invoke preflight``: would a deploy of the stack succeed in this account and region?

Two kinds of checks. The region checks are offline: they read the project's region rules (``invoke_proxy.regions``),
the very ones synth and the region-agnostic template's CloudFormation rules apply, so preflight refuses every
region synth refuses, with synth's reason. The account checks are read-only calls with the caller's
credentials (Service Quotas, SageMaker, CloudFormation); without credentials they are listed as skipped, with
how to give some, and the region checks still run. No CDK here (the CLI must start without aws-cdk-lib) and no
botocore at import.

What is checked, and what each check relies on:

- offline, in the order synth checks them: the Hugging Face TGI 1.1 image in the region; with scale to zero,
  ``AWS::SageMaker::InferenceComponent`` in CloudFormation there; Lambda function URLs; with streaming, the
  AWS Lambda Web Adapter layer the proxy streams through;
- the Service Quotas value of ``<instance type> for endpoint usage`` (service code ``sagemaker``), found by
  name with ListServiceQuotas (falling back to ListAWSDefaultServiceQuotas, since ListServiceQuotas leaves out
  quotas that have no applied value), against the stack's maximum instance count, and twice that for a
  blue/green update, which provisions the new fleet before it retires the old one;
- with scale to zero, in a region CloudFormation offers inference components in: ListInferenceComponents
  must answer in the region. Whether the
  region accepts ``ManagedInstanceScaling.MinInstanceCount`` 0 cannot be read before a deploy (field reports
  say not every region does); the deploy then fails at CreateEndpointConfig, which the row says;
- the CDK bootstrap stack (``CDKToolkit``, or ``--toolkit-stack-name``), at bootstrap version 6 or later (what
  the synthesized template's CheckBootstrapVersion rule requires);
- with ``--endpoint-name``, that no other endpoint holds the name (one the stack itself created is an update).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from invoke_proxy.contract import FRONT_DOORS

from .preflight_checks import (
    CONTEXT_KEYS,
    CREDENTIALS_ADVICE,
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_MAX_INSTANCES,
    DEFAULT_STACK_NAME,
    DEFAULT_TOOLKIT_STACK_NAME,
    DEFAULTS,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNKNOWN,
    FAIL,
    SKIPPED,
    UNKNOWN,
    Check,
    Plan,
    PreflightError,
    Unauthenticated,
    credentials_problem,
    run_checks,
)

# --- reading the plan: flags over -c over the context file -----------------------------------------------


def read_context(pairs: Iterable[str], context_file: str | None) -> dict[str, Any]:
    """The app context this command reads: ``--context-file``'s ``context`` object, then ``-c key=value``."""
    context: dict[str, Any] = {}
    if context_file:
        try:
            data = json.loads(Path(context_file).read_text())
        except (OSError, ValueError) as exc:
            raise PreflightError(f"Could not read --context-file {context_file}: {exc}") from None
        values = data.get("context", {}) if isinstance(data, dict) else None
        if not isinstance(values, dict):
            raise PreflightError(f"--context-file {context_file}: expected an object with a 'context' object")
        context.update({k: v for k, v in values.items() if k in CONTEXT_KEYS})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PreflightError(f"-c {pair!r}: use key=value, e.g. -c maxCapacity=4")
        if key in CONTEXT_KEYS:
            context[key] = value
    return context


def _context_int(context: Mapping[str, Any], key: str) -> int | None:
    raw = context.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw)
    else:
        raise PreflightError(f"context {key}={raw!r}: use a whole number")
    return value


def _context_bool(context: Mapping[str, Any], key: str) -> bool | None:
    raw = context.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("true", "false"):
        return str(raw).lower() == "true"
    raise PreflightError(f"context {key}={raw!r}: use true or false")


def _flag_or_context(flag: bool | None, context: Mapping[str, Any], key: str, default: bool) -> bool:
    if flag is not None:
        return flag
    value = _context_bool(context, key)
    return default if value is None else value


def _front_door(flag: str | None, context: Mapping[str, Any]) -> str:
    door = flag or context.get("frontDoor") or DEFAULTS.front_door
    if door not in FRONT_DOORS:
        raise PreflightError(f"context frontDoor={door!r}: use one of {', '.join(FRONT_DOORS)}")
    return str(door)


def build_plan(args: argparse.Namespace, default_region: str | None) -> Plan:
    context = read_context(args.context or [], args.context_file)
    region = args.region or context.get("region") or default_region
    if not region:
        raise PreflightError("preflight needs a region: pass --region R (or set one in your AWS profile).")
    max_instances = args.max_instances
    if max_instances is None:
        max_instances = (
            _context_int(context, "maxCapacity")
            or _context_int(context, "maxInstances")
            or DEFAULT_MAX_INSTANCES
        )
    if max_instances < 1:
        raise PreflightError(f"--max-instances {max_instances}: use 1 or more")
    return Plan(
        region=str(region),
        instance_type=args.instance_type or str(context.get("instanceType") or DEFAULT_INSTANCE_TYPE),
        max_instances=max_instances,
        scale_to_zero=_flag_or_context(args.scale_to_zero, context, "scaleToZero", DEFAULTS.scale_to_zero),
        streaming=_flag_or_context(args.streaming, context, "streaming", DEFAULTS.streaming),
        front_door=_front_door(args.front_door, context),
        web_adapter_layer=args.web_adapter_layer,
        endpoint_name=args.endpoint_name,
        stack_name=args.stack_name,
        toolkit_stack_name=args.toolkit_stack_name,
    )


# --- output ----------------------------------------------------------------------------------------------


def render(checks: list[Check]) -> str:
    header = ("check", "status", "found", "needed", "what to do")
    rows = [header, *((c.check, c.status, c.found, c.needed, c.action or "-") for c in checks)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines) + "\n"


def exit_code(checks: list[Check], *, credentials: bool = True) -> int:
    """See EXIT_OK: 1 when a check fails, else 3 when some were not made (``credentials`` False: the account
    checks were skipped), else 0."""
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return EXIT_FAIL
    if UNKNOWN in statuses or not credentials:
        return EXIT_UNKNOWN
    return EXIT_OK


def summary(plan: Plan, checks: list[Check], *, credentials_error: Exception | None = None) -> str:
    mode = "scale to zero" if plan.scale_to_zero else "always on"
    if not plan.streaming:
        mode += ", buffered proxy"
    if plan.front_door != DEFAULTS.front_door:
        mode += f", front door {plan.front_door}"
    head = f"{plan.region}, {plan.instance_type} x up to {plan.max_instances}, {mode}"
    code = exit_code(checks, credentials=credentials_error is None)
    skipped = ""
    if credentials_error is not None:
        names = ", ".join(
            c.check for c in checks if c.status == SKIPPED and c.found.startswith("not checked")
        )
        skipped = (
            f"The account checks were skipped ({names}): {credentials_error}. To make them, "
            f"{CREDENTIALS_ADVICE}.\n"
        )
    if code == EXIT_FAIL:
        failed = ", ".join(c.check for c in checks if c.status == FAIL)
        return f"preflight ({head}): the deploy would fail: {failed}.\n" + skipped
    if credentials_error is not None:
        return f"preflight ({head}): no region check fails, but the account checks were not made.\n" + skipped
    if code == EXIT_UNKNOWN:
        return f"preflight ({head}): no failure found, but some checks could not be made (see 'unknown').\n"
    return f"preflight ({head}): ready to deploy.\n"


def run(args: argparse.Namespace, out: IO[str], err: IO[str], session: Any) -> int:
    """The command: plan, checks, table on standard output, verdict on standard error, exit status.

    Without usable credentials the offline checks still run; the account checks are skipped rows."""
    try:
        plan = build_plan(args, session.get_config_variable("region"))
    except PreflightError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_FAIL
    problem = credentials_problem(session)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if problem is not None:
            return Unauthenticated(problem)
        if service not in clients:
            clients[service] = session.create_client(service, region_name=plan.region)
        return clients[service]

    checks = run_checks(plan, client)
    if getattr(args, "json", False):
        out.write(json.dumps([c.__dict__ for c in checks], indent=2) + "\n")
    else:
        out.write(render(checks))
    err.write(summary(plan, checks, credentials_error=problem))
    return exit_code(checks, credentials=problem is None)


def add_parser(commands: Any) -> None:
    """Register ``preflight`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "preflight",
        help="before a deploy: region support, quotas, CDK bootstrap, endpoint name (read-only)",
        description="Check whether a deploy of the stack would succeed: the region against the rules synth "
        "applies (offline), then, with your credentials and read-only calls, the account. Without credentials "
        "the account checks are skipped. Exit status: 0 ready (warnings allowed), 1 a check fails, 3 nothing "
        "fails but some checks were not made (refused calls, or no credentials).",
    )
    parser.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile (default: standard chain)")
    parser.add_argument(
        "--region", default=argparse.SUPPRESS, help="the deploy's region (default: your profile's)"
    )
    parser.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the rows as JSON"
    )
    parser.add_argument("--instance-type", help=f"endpoint instance type (default: {DEFAULT_INSTANCE_TYPE})")
    parser.add_argument(
        "--max-instances",
        type=int,
        help=f"the stack's maximum instance count (default: {DEFAULT_MAX_INSTANCES})",
    )
    parser.add_argument(
        "--scale-to-zero",
        action=argparse.BooleanOptionalAction,
        help="the stack scales to zero (inference components); default: context scaleToZero, else false",
    )
    parser.add_argument(
        "--streaming",
        action=argparse.BooleanOptionalAction,
        help="the proxy streams through the AWS Lambda Web Adapter layer; default: context streaming, else true",
    )
    parser.add_argument(
        "--web-adapter-layer",
        metavar="ARN",
        help="the stack brings its own copy of the Web Adapter layer (MistralEndpoint's web_adapter_layer): "
        "the public layer's regions are not checked",
    )
    parser.add_argument(
        "--front-door",
        choices=FRONT_DOORS,
        help="how applications reach the proxy: url (the function URL), private (the private REST API: checks "
        "the account's API Gateway logging role, no function URL region rule) or both; default: context "
        "frontDoor, else url",
    )
    parser.add_argument("--endpoint-name", help="the endpoint name the stack sets, if it sets one")
    parser.add_argument(
        "--stack-name", default=DEFAULT_STACK_NAME, help=f"the app's stack (default: {DEFAULT_STACK_NAME})"
    )
    parser.add_argument(
        "--toolkit-stack-name",
        default=DEFAULT_TOOLKIT_STACK_NAME,
        help=f"the CDK bootstrap stack (default: {DEFAULT_TOOLKIT_STACK_NAME})",
    )
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        metavar="KEY=VALUE",
        help=f"app context, as for cdk synth; reads {', '.join(CONTEXT_KEYS)} (flags win)",
    )
    parser.add_argument("--context-file", metavar="CDK_JSON", help="read the app context from this cdk.json")
