"""The pattern's props as typed parts, the way aws-cdk-lib's patterns take ``taskImageOptions``.

Each part is a frozen dataclass that one child construct owns and takes whole:

- :class:`NetworkOptions` -> :class:`~mistral_endpoint.IsolatedNetwork`
- :class:`ServingOptions` (the model and how it is served), :class:`ScalingOptions`, :class:`UpdateOptions`
  -> :class:`~mistral_endpoint.MistralModelEndpoint`
- :class:`ProxyOptions` -> :class:`~mistral_endpoint.InvokeProxy`
- :class:`FrontDoorOptions` (the function URL, the private REST API, or both) -> :class:`~mistral_endpoint.PrivateApi`
- :class:`MonitoringOptions` -> :class:`~mistral_endpoint.MistralMonitoring`
- :class:`LogOptions` -> every child that creates a log group

Every field carries its default and its documentation (``metadata["doc"]``, and ``metadata["default"]`` where the
default is derived rather than a value); ``scripts/generate_reference.py`` writes the props and context tables from
them. Field names are unique across the parts, and a context key is its field's name in camelCase
(``-c maxCapacity=4`` sets ``ScalingOptions.max_capacity``) for the fields marked ``context``. Adding a prop is
adding its field here, the code that uses it, and a test.
"""

# ruff: noqa: RUF009 - prop() returns a dataclasses.field carrying the doc; its default is immutable

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from ._lambda import contract
from .defaults import DEFAULTS

if TYPE_CHECKING:  # types only: importing these modules costs synth time
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

    from .alarms import AlarmSettings
    from .model import MistralModel
    from .scaling import ScalingSchedule
    from .serving_image import ServingImage

__all__ = [
    "FRONT_DOORS",
    "PARTS",
    "FrontDoorOptions",
    "LogOptions",
    "MonitoringOptions",
    "NetworkOptions",
    "ProxyOptions",
    "ScalingOptions",
    "ServingOptions",
    "UpdateOptions",
]


def prop(default: Any, doc: str, *, default_doc: str | None = None, context: bool = False) -> Any:
    """A part's field: its default, what it does, how the default reads when it is derived, and whether the
    app reads it from context (under its name in camelCase)."""
    metadata = {"doc": doc, "default": default_doc, "context": context}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class NetworkOptions:
    """Where the model and the proxy run (:class:`~mistral_endpoint.IsolatedNetwork`)."""

    vpc: ec2.IVpc | None = prop(
        None, "your VPC", default_doc="a new VPC: 2 AZs, isolated subnets only, flow logs"
    )
    vpc_subnets: ec2.SubnetSelection | None = prop(
        None,
        "the subnets of the model (and the proxy): at least two, in different AZs",
        default_doc="the VPC's isolated subnets",
    )
    create_vpc_endpoints: bool = prop(
        True,
        "add the S3 gateway and `sagemaker.runtime` interface endpoints; with `False` your S3 endpoint must admit "
        "the weights' bucket and prefix",
    )
    runtime_endpoint: ec2.IConnectable | None = prop(
        None,
        "your `sagemaker.runtime` interface endpoint (private DNS), required with `create_vpc_endpoints=False` "
        "while the proxy is in the VPC; the proxy is allowed in on 443",
        default_doc="none",
    )
    flow_log_traffic_type: str = prop(
        "ALL",
        "what the new VPC's flow log records: `ALL`, `ACCEPT` or `REJECT` (rejected flows only: less to ingest, "
        "still what a security review asks for first); refused with your own `vpc`, whose flow logs are yours",
        context=True,
    )


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """The model and the container that serves it (:class:`~mistral_endpoint.MistralModelEndpoint`)."""

    model: MistralModel | None = prop(
        None,
        "`MistralModel.instruct()`, `MistralModel.base()`, or `MistralModel.from_bucket(bucket, prefix, *, "
        "instruct=True, model_id=...)` for your uncompressed TGI-ready weights (a KMS-encrypted bucket's key is "
        "granted for decrypt)",
        default_doc="`MistralModel.instruct()`",
        context=True,
    )
    image: ServingImage | None = prop(
        None,
        "the serving container: `ServingImage.tgi_1_1()`, or `ServingImage.from_ecr_repository(repository, tag)` for "
        "a TGI 1.1 image you mirror or patch in your own ECR (pull rights on that repository go to the execution "
        "role; the proxy's token limits do not change)",
        default_doc="Hugging Face TGI 1.1 from the region's AWS Deep Learning Containers account",
    )
    instance_type: str = prop(
        DEFAULTS.instance_type, "g5 from 2xlarge up; `SM_NUM_GPUS` follows it", context=True
    )
    initial_instance_count: int = prop(
        DEFAULTS.initial_instance_count, "instances behind the endpoint", context=True
    )
    max_input_length: int | None = prop(
        None,
        "TGI `MAX_INPUT_LENGTH`; must be below `max_total_tokens`",
        default_doc="`max_total_tokens` - 1",
        context=True,
    )
    max_total_tokens: int = prop(
        DEFAULTS.max_total_tokens,
        "TGI `MAX_TOTAL_TOKENS`; at most 8192 (Mistral 7B's context)",
        context=True,
    )
    max_batch_prefill_tokens: int | None = prop(
        None,
        "TGI `MAX_BATCH_PREFILL_TOKENS`; at least `max_input_length`",
        default_doc="`max_input_length`",
        context=True,
    )
    max_concurrent_requests: int | None = prop(
        None, "TGI `MAX_CONCURRENT_REQUESTS`", default_doc="unset (TGI's 128)", context=True
    )
    container_environment: Mapping[str, str] | None = prop(
        None,
        "extra container environment (not the keys the props above own)",
        default_doc="none",
    )
    startup_health_check_timeout: Duration | None = prop(
        None, "60 s - 1 h", default_doc=f"{DEFAULTS.startup_health_check_timeout_seconds // 60} minutes"
    )
    model_data_download_timeout: Duration | None = prop(
        None, "60 s - 1 h", default_doc=f"{DEFAULTS.model_data_download_timeout_seconds // 60} minutes"
    )
    execution_role: iam.IRole | None = prop(
        None,
        "the model's execution role; the endpoint's managed policy is attached to it",
        default_doc="a new role",
    )
    endpoint_name: str | None = prop(
        None, "the SageMaker endpoint's name", default_doc="derived from the construct path, lower case"
    )


@dataclasses.dataclass(frozen=True)
class ScalingOptions:
    """Autoscaling of the endpoint (:class:`~mistral_endpoint.MistralModelEndpoint`)."""

    min_capacity: int | None = prop(
        None,
        "fewest instances autoscaling keeps",
        default_doc=f"`{DEFAULTS.min_capacity}` (`0` with `scale_to_zero`, which accepts only 0)",
        context=True,
    )
    max_capacity: int = prop(
        DEFAULTS.max_capacity,
        "most instances (copies with `scale_to_zero`); equal to `min_capacity`: no autoscaling",
        context=True,
    )
    target_concurrent_requests: int | None = prop(
        None,
        "concurrent requests per instance (per copy) that target tracking holds",
        default_doc=f"`{DEFAULTS.target_concurrent_requests}`, or half of `max_concurrent_requests` when lower",
    )
    scale_out_cooldown: Duration | None = prop(
        None,
        "wait after a scale-out (a g5 takes minutes to come up)",
        default_doc=f"{DEFAULTS.scale_out_cooldown_seconds // 60} minutes",
    )
    scale_in_cooldown: Duration | None = prop(
        None,
        "wait after a scale-in; longer than scale-out",
        default_doc=f"{DEFAULTS.scale_in_cooldown_seconds // 60} minutes",
    )
    scale_to_zero: bool = prop(
        DEFAULTS.scale_to_zero,
        "host the model as an inference component that scales to zero copies and instances when idle",
        context=True,
    )
    schedule: ScalingSchedule | None = prop(
        None,
        '`ScalingSchedule.business_hours("Europe/Paris", start_hour=8, end_hour=19, week_days="MON-FRI", '
        "min_capacity=1)`: capacity kept warm in the window",
        default_doc="none",
        context=True,
    )


@dataclasses.dataclass(frozen=True)
class UpdateOptions:
    """How an update of the endpoint deploys and rolls back (:class:`~mistral_endpoint.MistralModelEndpoint`)."""

    rollback_alarms: Sequence[cloudwatch.IAlarm] = prop(
        (),
        "alarms that roll an update back while it bakes, besides the monitoring's `Invocation5XXErrors` and "
        "`MsPerTokenP90`",
        default_doc="none",
    )
    deployment_baking_time: Duration | None = prop(
        None,
        "how long an update watches the new fleet (or copy) before it finishes (0 s - 1 h)",
        default_doc=f"{DEFAULTS.deployment_baking_seconds // 60} minutes",
    )


@dataclasses.dataclass(frozen=True)
class ProxyOptions:
    """The invoke proxy and its function URL (:class:`~mistral_endpoint.InvokeProxy`)."""

    proxy_in_vpc: bool = prop(
        DEFAULTS.proxy_in_vpc, "`MistralEndpoint` runs the proxy in the network's subnets", context=True
    )
    proxy_role: iam.IRole | None = prop(
        None,
        "the proxy function's role (assumable by `lambda.amazonaws.com`); the proxy's managed policy is attached "
        "to it",
        default_doc="a new role",
    )
    auth_type: lambda_.FunctionUrlAuthType = prop(
        lambda_.FunctionUrlAuthType.AWS_IAM,
        "`NONE` makes the URL public: do not, unless something else guards it (synth warns, and the HIPAA and "
        "NIST packs refuse it until you acknowledge `LambdaFunctionPublicAccessProhibited` on the function's "
        "permissions)",
        default_doc="`AWS_IAM`",
    )
    default_max_new_tokens: int = prop(
        DEFAULTS.default_max_new_tokens,
        "the proxy's default `max_new_tokens` (TGI's own default of 20 surprises people)",
        context=True,
    )
    log_prompts: bool = prop(False, "log prompt text (debugging only)")
    caller_metrics: bool = prop(
        True,
        "the proxy's metrics carry a `Caller` dimension (requests, input and generated tokens, ms per token by "
        "IAM role, user or account: `mistral-invoke usage` reads them); each caller costs a few custom metrics "
        "(docs: Alarms, dashboard and logs). `False` keeps the caller in the log lines only",
        context=True,
    )
    proxy_memory_size: int = prop(
        DEFAULTS.proxy_memory_size, "the proxy's memory in MiB (also buys CPU for cold starts)"
    )
    proxy_reserved_concurrent_executions: int | None = prop(
        None,
        "cap and reserve the proxy's concurrency (a reservation is taken from every other function of the account)",
        default_doc="unreserved",
        context=True,
    )
    streaming: bool = prop(
        DEFAULTS.streaming,
        "the function URL streams (`InvokeMode RESPONSE_STREAM`, the Lambda Web Adapter layer, IAM auth kept): "
        '`"stream": true` requests get server-sent events as TGI generates; `False`: the buffered function, which '
        "answers `stream` with a 400",
        context=True,
    )
    web_adapter_layer: lambda_.ILayerVersion | None = prop(
        None,
        "your own copy of the Lambda Web Adapter layer, with `streaming`: for accounts that allow no public layers, "
        "or regions without the public one",
        default_doc="the pinned public layer of the region",
    )


#: The ``front_door`` values: the function URL (today's door), the private REST API, or both (the contract's).
FRONT_DOORS = contract.FRONT_DOORS


@dataclasses.dataclass(frozen=True)
class FrontDoorOptions:
    """How applications reach the proxy: its function URL, a private REST API (:class:`~mistral_endpoint.PrivateApi`),
    or both."""

    front_door: str = prop(
        DEFAULTS.front_door,
        "`url`: the function URL (IAM-signed, reachable from the internet); `private`: only a REST API of endpoint "
        "type PRIVATE, reachable only through the allowed `execute-api` VPC endpoints (no function URL at all); "
        "`both`: the two doors in front of one function",
        context=True,
    )
    private_api_vpc_endpoint_ids: Sequence[str] = prop(
        (),
        "ids (`vpce-...`) of further `execute-api` interface endpoints the private API admits: other VPCs', other "
        "accounts'",
        default_doc="none",
        context=True,
    )
    create_private_api_endpoint: bool = prop(
        True,
        "create the `execute-api` interface endpoint (private DNS, its own security group) in the stack's VPC; "
        "`False`: only the endpoints in `private_api_vpc_endpoint_ids` reach the API",
        context=True,
    )
    private_api_endpoint_peers: Sequence[ec2.IPeer | ec2.IConnectable | str] | None = prop(
        None,
        "who the created endpoint's security group admits on 443: CIDRs (`10.0.0.0/16`), security groups, "
        "`ec2.Peer`s",
        default_doc="the VPC's CIDR",
    )
    private_api_rate_limit: int = prop(
        DEFAULTS.private_api_requests_per_second,
        "the private API stage's steady request rate per second (API Gateway answers 429 above it); a stream "
        "holds a proxy function for its whole length, so this times a typical answer's seconds is the proxy "
        "concurrency it allows",
        context=True,
    )
    private_api_burst_limit: int | None = prop(
        None,
        "the private API stage's burst (requests API Gateway admits at once)",
        default_doc=f"`{DEFAULTS.private_api_burst_requests}`, or `proxy_reserved_concurrent_executions` when lower",
        context=True,
    )


@dataclasses.dataclass(frozen=True)
class MonitoringOptions:
    """Alarms, their topic and the dashboard (:class:`~mistral_endpoint.MistralMonitoring`)."""

    monitoring: bool = prop(
        DEFAULTS.monitoring,
        "`MistralEndpoint` creates the alarms, their topic and the dashboard",
        context=True,
    )
    alarm_topic: sns.ITopic | None = prop(
        None,
        "where alarm and OK notifications go",
        default_doc="a new topic, encrypted with a new KMS key (rotation on), refusing publishes without TLS",
    )
    alarm_email: str | None = prop(
        None, "an address to subscribe to the alarm topic (it must confirm)", default_doc="none", context=True
    )
    alarm_settings: Mapping[str, AlarmSettings | None] | None = prop(
        None,
        "per alarm name, `AlarmSettings(threshold, evaluation_periods)`, or `None` to leave that alarm out",
        default_doc="`DEFAULTS.alarms`",
    )
    dashboard_name: str | None = prop(
        None,
        "the dashboard's name",
        default_doc="the stack's name and the construct's path below it, which also starts every alarm's name",
    )


@dataclasses.dataclass(frozen=True)
class LogOptions:
    """Every log group the pattern creates (and what is deleted with the stack)."""

    log_retention: logs.RetentionDays = prop(
        logs.RetentionDays.ONE_YEAR, "every log group's retention", default_doc="one year"
    )
    log_encryption_key: kms.IKey | None = prop(
        None,
        "a customer-managed key for every log group (its key policy must allow `logs.REGION.amazonaws.com`)",
        default_doc="CloudWatch Logs' own encryption",
    )
    removal_policy: RemovalPolicy = prop(
        RemovalPolicy.DESTROY,
        "applied to the log groups (and the alarm topic's KMS key)",
        default_doc="`DESTROY`",
    )


#: Every part, in the order the reference lists them.
PARTS: tuple[type, ...] = (
    NetworkOptions,
    ServingOptions,
    ScalingOptions,
    UpdateOptions,
    ProxyOptions,
    FrontDoorOptions,
    MonitoringOptions,
    LogOptions,
)
_Part = TypeVar("_Part")


def part_of(cls: type[_Part], given: _Part | None, flat: Mapping[type, Mapping[str, Any]]) -> _Part:
    """``given`` (or the part's defaults) with the flat props meant for it laid over."""
    if given is not None and not isinstance(given, cls):
        raise TypeError(f"expected a {cls.__name__}, got {given!r}")
    base = given if given is not None else cls()
    overrides = flat.get(cls, {})
    return dataclasses.replace(base, **overrides) if overrides else base  # type: ignore[type-var]


def split_flat_props(
    owner: str,
    given: Mapping[str, Any],
    parts: Sequence[type],
    *,
    aliases: Mapping[str, str] | None = None,
    stacklevel: int = 4,
) -> dict[type, dict[str, Any]]:
    """Flat keyword props of earlier releases, sorted into the parts that own them (kept for one release).

    :param owner: the construct, for the warning and for the error about a prop it does not have.
    :param aliases: earlier names of fields (``role`` for ``execution_role``).
    """
    if not given:
        return {}
    sorted_props: dict[type, dict[str, Any]] = {}
    for name, value in given.items():
        field = (aliases or {}).get(name, name)
        part = next((p for p in parts if field in {f.name for f in dataclasses.fields(p)}), None)
        if part is None:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}")
        sorted_props.setdefault(part, {})[field] = value
    where = ", ".join(f"{part.__name__}({', '.join(props)})" for part, props in sorted_props.items())
    warnings.warn(
        f"{owner}: flat props are deprecated and go in the next release; pass {where}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return sorted_props
