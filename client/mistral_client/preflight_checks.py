"""``mistral-invoke preflight``'s checks: what a deploy needs (``Plan``), and one ``Check`` row per need.

The region checks are offline (the region rules synth applies, ``invoke_proxy.regions``); the account checks are
read-only calls with the caller's credentials. The command around them (reading the plan, the table, the exit
status) is ``preflight``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from invoke_proxy.contract import DEPLOYMENT_DEFAULTS as DEFAULTS
from invoke_proxy.regions import INFERENCE_COMPONENTS, region_rules

DEFAULT_INSTANCE_TYPE = DEFAULTS.instance_type
DEFAULT_MAX_INSTANCES = DEFAULTS.max_capacity
DEFAULT_STACK_NAME = "MistralEndpointStack"
DEFAULT_TOOLKIT_STACK_NAME = "CDKToolkit"
MIN_BOOTSTRAP_VERSION = 6
# The app's context keys this command reads (camelCase, as in cdk.json and `cdk synth -c key=value`).
#: The app's context keys preflight reads; maxInstances is maxCapacity's deprecated spelling (stacks/config.py).
CONTEXT_KEYS = (
    "instanceType",
    "maxCapacity",
    "maxInstances",
    "scaleToZero",
    "streaming",
    "frontDoor",
    "region",
)

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
    #: How applications reach the proxy (``FRONT_DOORS``): the private API's account setting is checked.
    front_door: str = DEFAULTS.front_door

    @property
    def function_url(self) -> bool:
        return self.front_door != "private"

    @property
    def private_api(self) -> bool:
        return self.front_door in ("private", "both")


@dataclass(frozen=True)
class Check:
    check: str
    status: str
    found: str
    needed: str
    action: str = ""


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
            Check(label, status, found, f"{plan.max_instances} (maxCapacity)", action),
            Check(update_label, status, found, f"{2 * plan.max_instances} (2 x maxCapacity)", action),
        ]
    if quota is None:
        return [
            Check(
                label,
                FAIL,
                "no such quota in this region",
                f"{plan.max_instances} (maxCapacity)",
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

    needed = f"{plan.max_instances} (maxCapacity)"
    if value < 1:
        deploy = Check(
            label,
            FAIL,
            found,
            needed,
            "the endpoint cannot start one instance; " + increase(2 * plan.max_instances),
        )
    elif value < plan.max_instances:
        # The first instance starts, but autoscaling can never reach maxCapacity: the stack as configured
        # does not fit the account, so this fails the check rather than warning.
        deploy = Check(
            label,
            FAIL,
            found,
            needed,
            f"autoscaling could not go past {value}: lower maxCapacity to {value}, or "
            + increase(2 * plan.max_instances),
        )
    else:
        deploy = Check(label, OK, found, needed)
    update_needed = f"{2 * plan.max_instances} (2 x maxCapacity)"
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
        function_url=plan.function_url,
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


API_GATEWAY_LOGGING = "API Gateway CloudWatch Logs role (private door)"
API_GATEWAY_LOGGING_NEEDED = "the account's cloudwatchRoleArn set in the region"
API_GATEWAY_LOGGING_ACTION = (
    "set it once per account and region: a role that apigateway.amazonaws.com may assume, with the managed "
    "policy AmazonAPIGatewayPushToCloudWatchLogs, then: aws apigateway update-account --patch-operations "
    "op=replace,path=/cloudwatchRoleArn,value=<role ARN> (docs/operate/private-door.md)"
)


def api_gateway_logging_check(apigateway: Any, plan: Plan) -> Check:
    """The private door's stage writes access logs, which API Gateway does only once the account names a
    CloudWatch Logs role in the region (API Gateway Developer Guide, "Set up CloudWatch logging for REST APIs
    in API Gateway": without it, creating the stage fails with "CloudWatch Logs role ARN must be set in account
    settings to enable logging"). GetAccount returns it as ``cloudwatchRoleArn`` (botocore's apigateway model).
    The stack does not set it: it is one setting for every API of the account and region, not the stack's."""
    label, needed = API_GATEWAY_LOGGING, API_GATEWAY_LOGGING_NEEDED
    try:
        account = apigateway.get_account()
    except _aws_errors() as exc:
        status, found, action = _could_not_check(
            "apigateway:GET on arn:aws:apigateway:<region>::/account", exc
        )
        return Check(label, status, found, needed, action)
    role = account.get("cloudwatchRoleArn")
    if not role:
        return Check(label, FAIL, "not set", needed, API_GATEWAY_LOGGING_ACTION)
    return Check(label, OK, str(role), needed)


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


class Unauthenticated:
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
    if plan.private_api:
        checks.append(api_gateway_logging_check(client("apigateway"), plan))
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
