"""``mistral-invoke preflight``: would a deploy of the stack succeed in this account and region?

Two kinds of checks. The region checks are offline: they read the project's region rules (``_region_rules``),
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._region_rules import INFERENCE_COMPONENTS, region_rules
from .defaults import DEFAULTS

DEFAULT_INSTANCE_TYPE = DEFAULTS.instance_type
DEFAULT_MAX_INSTANCES = DEFAULTS.max_capacity
DEFAULT_STACK_NAME = "MistralEndpointStack"
DEFAULT_TOOLKIT_STACK_NAME = "CDKToolkit"
MIN_BOOTSTRAP_VERSION = 6
# The app's context keys this command reads (camelCase, as in cdk.json and `cdk synth -c key=value`).
CONTEXT_KEYS = ("instanceType", "maxInstances", "scaleToZero", "streaming", "region")

OK, WARN, FAIL, UNKNOWN, SKIPPED = "ok", "warn", "FAIL", "unknown", "skipped"
#: 0: nothing fails and every check was made. 1: a check fails (offline or account), or bad input.
#: 3: nothing fails, but some checks were not made: an ``unknown`` row (a refused call, no network), or the
#: account checks skipped for want of credentials. A row skipped because it does not apply (no
#: ``--endpoint-name``) does not change the status.
EXIT_OK, EXIT_FAIL, EXIT_UNKNOWN = 0, 1, 3


class PreflightError(Exception):
    """Bad input (a context value, an unreadable context file, no region): exits 1 with the message."""


@dataclass(frozen=True)
class Plan:
    """What the deploy needs: the stack's settings that the checks depend on."""

    region: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    max_instances: int = DEFAULT_MAX_INSTANCES
    scale_to_zero: bool = DEFAULTS.scale_to_zero
    streaming: bool = DEFAULTS.streaming
    #: Your copy of the Web Adapter layer (MistralEndpoint's ``web_adapter_layer``): no layer region rule.
    web_adapter_layer: str | None = None
    endpoint_name: str | None = None
    stack_name: str = DEFAULT_STACK_NAME
    toolkit_stack_name: str = DEFAULT_TOOLKIT_STACK_NAME


@dataclass(frozen=True)
class Check:
    check: str
    status: str
    found: str
    needed: str
    action: str = ""


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
            raise PreflightError(f"-c {pair!r}: use key=value, e.g. -c maxInstances=4")
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


def build_plan(args: argparse.Namespace, default_region: str | None) -> Plan:
    context = read_context(args.context or [], args.context_file)
    region = args.region or context.get("region") or default_region
    if not region:
        raise PreflightError("preflight needs a region: pass --region R (or set one in your AWS profile).")
    max_instances = args.max_instances
    if max_instances is None:
        max_instances = _context_int(context, "maxInstances") or DEFAULT_MAX_INSTANCES
    if max_instances < 1:
        raise PreflightError(f"--max-instances {max_instances}: use 1 or more")
    return Plan(
        region=str(region),
        instance_type=args.instance_type or str(context.get("instanceType") or DEFAULT_INSTANCE_TYPE),
        max_instances=max_instances,
        scale_to_zero=_flag_or_context(args.scale_to_zero, context, "scaleToZero", DEFAULTS.scale_to_zero),
        streaming=_flag_or_context(args.streaming, context, "streaming", DEFAULTS.streaming),
        web_adapter_layer=args.web_adapter_layer,
        endpoint_name=args.endpoint_name,
        stack_name=args.stack_name,
        toolkit_stack_name=args.toolkit_stack_name,
    )


# --- the checks ------------------------------------------------------------------------------------------


def _error(exc: Exception) -> tuple[str, str]:
    """(code, message) of a botocore failure, for a row: never a traceback."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code", "")), str(error.get("Message", "")) or str(exc)
    return type(exc).__name__, str(exc)


def _access_denied(code: str) -> bool:
    return (
        code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation") or "AccessDenied" in code
    )


CREDENTIALS_ADVICE = (
    "give preflight credentials: AWS_PROFILE=<profile> (or --profile; for an SSO profile first run: "
    "aws sso login --profile <profile>), then run preflight again"
)


def _credentials_errors() -> tuple[type[Exception], ...]:
    """botocore's "no usable credentials" errors: none found, partial, an expired SSO session, a failed
    credential process or role assumption. An account check that meets one is skipped, not unknown."""
    from botocore import exceptions

    return (
        exceptions.NoCredentialsError,
        exceptions.PartialCredentialsError,
        exceptions.SSOError,
        exceptions.TokenRetrievalError,
        exceptions.CredentialRetrievalError,
        exceptions.RefreshWithMFAUnsupportedError,
    )


def _credentials_found(exc: Exception) -> str:
    from botocore.exceptions import NoCredentialsError

    return (
        "no AWS credentials"
        if isinstance(exc, NoCredentialsError)
        else f"unusable credentials ({type(exc).__name__})"
    )


def _could_not_check(permission: str, exc: Exception) -> tuple[str, str, str]:
    """(status, found, action) of a call that did not answer: skipped without credentials, else unknown."""
    if isinstance(exc, _credentials_errors()):
        return SKIPPED, f"not checked: {_credentials_found(exc)}", CREDENTIALS_ADVICE
    code, message = _error(exc)
    if _access_denied(code):
        return (
            UNKNOWN,
            f"not checked: access denied ({code})",
            f"allow {permission} for the caller, then run preflight again",
        )
    return (
        UNKNOWN,
        f"not checked: {code}: {message}",
        "run preflight again; if it persists, check the service in the console",
    )


def quota_checks(service_quotas: Any, plan: Plan) -> list[Check]:
    name = f"{plan.instance_type} for endpoint usage"
    label = f"quota: {name}"
    update_label = "quota: blue/green update at max"
    try:
        quota = _find_quota(service_quotas, name)
    except _aws_errors() as exc:
        status, found, action = _could_not_check(
            "servicequotas:ListServiceQuotas and servicequotas:ListAWSDefaultServiceQuotas", exc
        )
        return [
            Check(label, status, found, f"{plan.max_instances} (maxInstances)", action),
            Check(update_label, status, found, f"{2 * plan.max_instances} (2 x maxInstances)", action),
        ]
    if quota is None:
        return [
            Check(
                label,
                FAIL,
                "no such quota in this region",
                f"{plan.max_instances} (maxInstances)",
                f"check the instance type: SageMaker may not offer {plan.instance_type} for endpoints in "
                f"{plan.region}",
            )
        ]
    value = int(quota.get("Value", 0))
    code = str(quota.get("QuotaCode", ""))
    found = f"{value} ({code})" if code else str(value)

    def increase(to: int) -> str:
        return (
            f"request {to} or more: aws service-quotas request-service-quota-increase --service-code sagemaker "
            f"--quota-code {code or '<code>'} --desired-value {to} --region {plan.region}"
        )

    needed = f"{plan.max_instances} (maxInstances)"
    if value < 1:
        deploy = Check(
            label,
            FAIL,
            found,
            needed,
            "the endpoint cannot start one instance; " + increase(2 * plan.max_instances),
        )
    elif value < plan.max_instances:
        # The first instance starts, but autoscaling can never reach maxInstances: the stack as configured
        # does not fit the account, so this fails the check rather than warning.
        deploy = Check(
            label,
            FAIL,
            found,
            needed,
            f"autoscaling could not go past {value}: lower maxInstances to {value}, or "
            + increase(2 * plan.max_instances),
        )
    else:
        deploy = Check(label, OK, found, needed)
    update_needed = f"{2 * plan.max_instances} (2 x maxInstances)"
    if value < 2:
        update = Check(
            update_label,
            WARN,
            found,
            update_needed,
            "every endpoint update fails (the new fleet starts before the old one stops); "
            + increase(2 * plan.max_instances),
        )
    elif value < 2 * plan.max_instances:
        update = Check(
            update_label,
            WARN,
            found,
            update_needed,
            f"an update fails when more than {value // 2} of {plan.max_instances} instances run; "
            + increase(2 * plan.max_instances),
        )
    else:
        update = Check(update_label, OK, found, update_needed)
    return [deploy, update]


def _find_quota(service_quotas: Any, name: str) -> dict[str, Any] | None:
    """The quota named ``name`` (case-insensitive): the applied value, else AWS's default."""
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"ServiceCode": "sagemaker", "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = getattr(service_quotas, operation)(**kwargs)
            for quota in page.get("Quotas", []):
                if str(quota.get("QuotaName", "")).lower() == name.lower():
                    return dict(quota)
            token = page.get("NextToken")
            if not token:
                break
    return None


def region_checks(plan: Plan) -> list[Check]:
    """Offline: one row per region rule the stack's mode applies, refused with synth's own reason."""
    checks = []
    rules = region_rules(
        scale_to_zero=plan.scale_to_zero,
        streaming=plan.streaming,
        own_web_adapter_layer=plan.web_adapter_layer is not None,
    )
    for rule in rules:
        if rule.admits(plan.region):
            checks.append(Check(rule.check, OK, plan.region, rule.needed))
        else:
            checks.append(Check(rule.check, FAIL, f"{rule.missing} {plan.region}", rule.needed, rule.message))
    return checks


INFERENCE_COMPONENTS_API = "inference components API (scaleToZero)"
INFERENCE_COMPONENTS_API_NEEDED = "API in region; MinInstanceCount 0 accepted"


def inference_component_check(sagemaker: Any, plan: Plan) -> Check:
    label, needed = INFERENCE_COMPONENTS_API, INFERENCE_COMPONENTS_API_NEEDED
    try:
        sagemaker.list_inference_components(MaxResults=1)
    except _aws_errors() as exc:
        code, _ = _error(exc)
        if code in ("UnknownOperationException", "InvalidAction", "UnsupportedOperation"):
            return Check(
                label,
                FAIL,
                f"not offered: {code}",
                needed,
                "deploy without scaleToZero, or to another region",
            )
        status, found, action = _could_not_check("sagemaker:ListInferenceComponents", exc)
        return Check(label, status, found, needed, action)
    return Check(
        label,
        OK,
        "API answers",
        needed,
        "MinInstanceCount 0 cannot be checked before a deploy; if CreateEndpointConfig refuses it, "
        "deploy without scaleToZero",
    )


def bootstrap_check(cloudformation: Any, plan: Plan) -> Check:
    label = f"CDK bootstrap stack {plan.toolkit_stack_name}"
    needed = f"bootstrapped, version >= {MIN_BOOTSTRAP_VERSION}"
    bootstrap = f"cdk bootstrap aws://<account>/{plan.region}"
    if plan.toolkit_stack_name != DEFAULT_TOOLKIT_STACK_NAME:
        bootstrap += f" --toolkit-stack-name {plan.toolkit_stack_name}"
    try:
        stacks = cloudformation.describe_stacks(StackName=plan.toolkit_stack_name).get("Stacks", [])
    except _aws_errors() as exc:
        _, message = _error(exc)
        if "does not exist" in message:
            return Check(label, FAIL, "missing", needed, f"run: {bootstrap}")
        status, found, action = _could_not_check("cloudformation:DescribeStacks", exc)
        return Check(label, status, found, needed, action)
    if not stacks:
        return Check(label, FAIL, "missing", needed, f"run: {bootstrap}")
    stack = stacks[0]
    status = str(stack.get("StackStatus", ""))
    outputs = {o.get("OutputKey"): o.get("OutputValue") for o in stack.get("Outputs", [])}
    version_text = outputs.get("BootstrapVersion")
    found = f"{status}, version {version_text or '?'}"
    if status in (
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "CREATE_FAILED",
        "DELETE_FAILED",
        "DELETE_IN_PROGRESS",
    ):
        return Check(
            label, FAIL, found, needed, f"delete the stack {plan.toolkit_stack_name}, then run: {bootstrap}"
        )
    if status.endswith("_IN_PROGRESS"):
        return Check(label, WARN, found, needed, "wait for the stack operation to finish")
    if version_text is None or not str(version_text).isdigit():
        return Check(label, WARN, found, needed, f"no BootstrapVersion output; re-run: {bootstrap}")
    if int(str(version_text)) < MIN_BOOTSTRAP_VERSION:
        return Check(label, FAIL, found, needed, f"re-run (upgrades in place): {bootstrap}")
    return Check(label, OK, found, needed)


def endpoint_check(sagemaker: Any, cloudformation: Any, plan: Plan) -> Check:
    label = "endpoint name free"
    if not plan.endpoint_name:
        return Check(
            label,
            SKIPPED,
            "no --endpoint-name",
            "a name no other endpoint holds",
            "the stack derives a unique name unless endpoint_name is set: pass that name with --endpoint-name",
        )
    needed = f"no endpoint {plan.endpoint_name}, or {plan.stack_name}'s own"
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=plan.endpoint_name)
    except _aws_errors() as exc:
        code, message = _error(exc)
        if code in ("ValidationException", "ValidationError") and (
            "could not find" in message.lower() or "not found" in message.lower()
        ):
            return Check(label, OK, "no such endpoint", needed)
        status, found, action = _could_not_check("sagemaker:DescribeEndpoint", exc)
        return Check(label, status, found, needed, action)
    found = f"exists ({endpoint.get('EndpointStatus', '?')})"
    try:
        stacks = cloudformation.describe_stacks(StackName=plan.stack_name).get("Stacks", [])
    except _aws_errors() as exc:
        code, message = _error(exc)
        if "does not exist" not in message:
            _, _, action = _could_not_check("cloudformation:DescribeStacks", exc)
            return Check(label, UNKNOWN, f"{found}; owner not checked ({code})", needed, action)
        stacks = []
    outputs = {o.get("OutputKey"): o.get("OutputValue") for s in stacks[:1] for o in s.get("Outputs", [])}
    if outputs.get("EndpointName") == plan.endpoint_name:
        return Check(label, OK, f"{found}, {plan.stack_name}'s own", needed, "the deploy updates it")
    return Check(
        label,
        FAIL,
        f"{found}, not {plan.stack_name}'s",
        needed,
        f"choose another endpoint name, or delete it: aws sagemaker delete-endpoint --endpoint-name "
        f"{plan.endpoint_name} --region {plan.region}",
    )


def _aws_errors() -> tuple[type[Exception], ...]:
    """What a call can raise that becomes a row: service errors, and botocore's own (network, credentials)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


class _Unauthenticated:
    """Every client when the caller has no usable credentials: each call raises the credentials error, which
    the account checks report as skipped. No client is created, nothing is sent."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def __getattr__(self, operation: str) -> Callable[..., Any]:
        def call(**_: Any) -> Any:
            raise self._error

        return call


def run_checks(plan: Plan, client: Callable[[str], Any]) -> list[Check]:
    """Every check, in the table's order: the offline region checks, then the account checks.
    ``client(service)`` returns a botocore client for the plan's region."""
    sagemaker = client("sagemaker")
    cloudformation = client("cloudformation")
    checks = region_checks(plan)
    checks += quota_checks(client("service-quotas"), plan)
    # Where CloudFormation has no inference components, the region row already fails: no call to make.
    if plan.scale_to_zero and INFERENCE_COMPONENTS.admits(plan.region):
        checks.append(inference_component_check(sagemaker, plan))
    checks.append(bootstrap_check(cloudformation, plan))
    checks.append(endpoint_check(sagemaker, cloudformation, plan))
    return checks


def credentials_problem(session: Any) -> Exception | None:
    """Why the account checks cannot be made (no credentials, an expired SSO session, ...), or None.

    Resolves the credentials once, as the first call would (an SSO or assume-role profile fetches them here)."""
    from botocore.exceptions import NoCredentialsError

    try:
        credentials = session.get_credentials()
        if credentials is None:
            return NoCredentialsError()
        credentials.get_frozen_credentials()
    except _credentials_errors() as exc:
        return exc
    return None


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
            return _Unauthenticated(problem)
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
