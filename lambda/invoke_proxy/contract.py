"""The contract between the proxy's runtime, the CDK constructs and the client, in one module.

What one side writes and another reads: the function's environment (set by ``InvokeProxy``, read by
``config.load_config``), the HTTP API's routes (served here, called by ``mistral-invoke`` and ``mistral-bench``,
probed by the Lambda Web Adapter), the metrics (written by ``metrics``, read by the constructs' alarms and
dashboard), the error type a waking model answers with (sent here, waited on by the client), the token limits
and their defaults, and the deployment defaults ``mistral-invoke preflight`` assumes (the constructs' own).
A change here is made once, for all three packages.

Standard library only, no side effects: it is imported on the function's cold start, by the constructs at synth
(from the copy of this package their wheel carries) and by the client, none of which may need the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

# --- the function's environment: InvokeProxy sets it, config.load_config reads it --------------------------

#: The SageMaker endpoint the proxy invokes (required).
ENV_ENDPOINT_NAME = "ENDPOINT_NAME"
#: Scale-to-zero endpoints: the model's inference component, named in every invocation.
ENV_INFERENCE_COMPONENT_NAME = "INFERENCE_COMPONENT_NAME"
#: TGI's limits on the endpoint, so the proxy refuses what TGI would refuse, with a clearer message.
ENV_MAX_INPUT_LENGTH = "MAX_INPUT_LENGTH"
ENV_MAX_TOTAL_TOKENS = "MAX_TOTAL_TOKENS"
#: max_new_tokens when a request names none.
ENV_DEFAULT_MAX_NEW_TOKENS = "DEFAULT_MAX_NEW_TOKENS"
#: The model id /health and the OpenAI route report.
ENV_MODEL_ID = "MODEL_ID"
#: ``mistral-instruct`` (chat routes on) or ``none`` (a base model: /generate only).
ENV_PROMPT_FORMAT = "PROMPT_FORMAT"
#: ``true`` logs prompt text (debugging only).
ENV_LOG_PROMPTS = "LOG_PROMPTS"
#: ``false`` leaves the Caller dimension out of the metrics (the caller still appears in every log line).
ENV_CALLER_METRICS = "CALLER_METRICS"
#: Every variable above, in the order InvokeProxy documents them.
ENVIRONMENT = (
    ENV_ENDPOINT_NAME,
    ENV_INFERENCE_COMPONENT_NAME,
    ENV_MAX_INPUT_LENGTH,
    ENV_MAX_TOTAL_TOKENS,
    ENV_DEFAULT_MAX_NEW_TOKENS,
    ENV_MODEL_ID,
    ENV_PROMPT_FORMAT,
    ENV_LOG_PROMPTS,
    ENV_CALLER_METRICS,
)

# --- the HTTP API's routes (docs/api: the OpenAPI document lists the same paths) ---------------------------

GENERATE = "/generate"
CHAT = "/chat"
OPENAI_CHAT = "/v1/chat/completions"
#: Answered without calling SageMaker: the Web Adapter's readiness check (AWS_LWA_READINESS_CHECK_PATH).
HEALTH = "/health"
ROUTES = (GENERATE, CHAT, OPENAI_CHAT, HEALTH)

# --- the Lambda Web Adapter: the streaming function's environment, which starts this HTTP app behind it ---

#: How the adapter runs the app (``http_server``) and turns door events into its requests (aws-lambda-web-adapter
#: README, "Configurations"); ``InvokeProxy`` sets exactly these on the streaming function, and the tests' imitation
#: of the adapter (tests/web_adapter.py) follows them.
WEB_ADAPTER_ENVIRONMENT: Mapping[str, str] = MappingProxyType(
    {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_PORT": "8080",
        # The proxy's own health route: answered without calling SageMaker.
        "AWS_LWA_READINESS_CHECK_PATH": HEALTH,
        # Its default, spelled out: a compressed stream would be buffered by the compressor.
        "AWS_LWA_ENABLE_COMPRESSION": "false",
        # A private REST API's events name the stage in requestContext.path: the adapter's request conversion
        # (the Rust lambda_http crate) prefixes it to the path unless told not to (lambda_http README,
        # "Integration with API Gateway stages"). The proxy's routes are stage-free, behind either door.
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH": "true",
    }
)

# --- the doors: the stack creates them and names their URLs in its outputs, the client reads those ---------

#: The ``front_door`` values (context ``frontDoor``): the function URL (signed for ``lambda``), the private
#: REST API (signed for ``execute-api``, reachable only through the allowed VPC endpoints), or both.
FRONT_DOORS = ("url", "private", "both")
#: The stack output holding each door's URL (``mistral-invoke --stack S --door D`` reads it).
DOOR_OUTPUTS: Mapping[str, str] = MappingProxyType({"url": "InvokeUrl", "private": "PrivateApiUrl"})

#: The error type of the 503 the proxy answers while a scaled-to-zero model starts; the client waits on it
#: (honouring Retry-After) and the metrics count it apart from real 5xx.
MODEL_SCALING_UP_ERROR = "model_scaling_up"

# --- metrics (CloudWatch embedded metric format): metrics writes them, the constructs read them ------------

#: The CloudWatch namespace of every proxy metric.
NAMESPACE = "MistralEndpoint"

#: Dimensions (bounded: one endpoint, a handful of routes, three status classes).
ENDPOINT_NAME = "EndpointName"
ROUTE = "Route"
STATUS_CLASS = "StatusClass"
#: Two dimension sets: per endpoint and status class (what alarms and the dashboard read), and per route.
DIMENSION_SETS = ((ENDPOINT_NAME, STATUS_CLASS), (ENDPOINT_NAME, ROUTE, STATUS_CLASS))
#: The status classes a request can have.
STATUS_CLASSES = ("2xx", "4xx", "5xx")
#: The Route value of a path that is not one of the proxy's routes (keeps the dimension bounded).
OTHER_ROUTE = "other"
#: Routes without metrics: a health probe every few seconds would drown the model's request rates.
UNMEASURED_ROUTES = frozenset({HEALTH})

#: Who called: a stable name of the IAM principal that signed the request (``identity.caller_name``):
#: ``role/NAME`` for an assumed role (never the session name), ``user/NAME`` for an IAM user, ``account/ID`` for
#: the account's root and for every caller from another account.
CALLER = "Caller"
#: The Caller of a request that carries no verified identity (``mistral-invoke serve``, a door without IAM).
UNVERIFIED_CALLER = "unverified"
#: The per-caller dimension set, in an EMF directive of its own that carries only these metrics: each caller
#: costs a few custom metrics, not one per metric the line holds (docs/operate/monitoring.md has the arithmetic).
CALLER_DIMENSIONS = (ENDPOINT_NAME, CALLER, STATUS_CLASS)

#: Metric names and their units.
REQUESTS = "Requests"
REQUEST_LATENCY = "RequestLatency"
INPUT_TOKENS = "InputTokens"
GENERATED_TOKENS = "GeneratedTokens"
TOKENS_PER_SECOND = "TokensPerSecond"
MS_PER_TOKEN = "MsPerToken"
TIME_TO_FIRST_TOKEN = "TimeToFirstToken"
MODEL_SCALING_UP = "ModelScalingUp"
UNITS: Mapping[str, str] = MappingProxyType(
    {
        REQUESTS: "Count",
        REQUEST_LATENCY: "Milliseconds",
        INPUT_TOKENS: "Count",
        GENERATED_TOKENS: "Count",
        TOKENS_PER_SECOND: "Count/Second",
        MS_PER_TOKEN: "Milliseconds",
        TIME_TO_FIRST_TOKEN: "Milliseconds",
        MODEL_SCALING_UP: "Count",
    }
)

#: The metrics the per-caller directive carries (the usage report reads these).
CALLER_METRICS = (REQUESTS, INPUT_TOKENS, GENERATED_TOKENS, MS_PER_TOKEN)

# --- token limits and their defaults -----------------------------------------------------------------------

#: The prompt formats the proxy knows.
PROMPT_FORMATS = ("mistral-instruct", "none")


class RuntimeDefaults(NamedTuple):
    """What the proxy assumes when its environment leaves a value out; the constructs' ``DEFAULTS`` and the
    client's ``serve`` flags hold the same values. Immutable (a NamedTuple: cheap on the cold start)."""

    #: JumpStart id of the default weights, reported as the OpenAI route's ``model``.
    model_id: str = "huggingface-llm-mistral-7b-instruct"
    #: The proxy's prompt format for the default weights (``none`` for a base model).
    prompt_format: str = "mistral-instruct"
    #: TGI MAX_INPUT_LENGTH: the longest prompt, in tokens (JumpStart's value for these models).
    max_input_length: int = 8191
    #: TGI MAX_TOTAL_TOKENS: prompt plus generated tokens; Mistral 7B's context window.
    max_total_tokens: int = 8192
    #: What the proxy asks TGI for when a request names no max_new_tokens (TGI's own default, 20, surprises).
    default_max_new_tokens: int = 512


RUNTIME_DEFAULTS = RuntimeDefaults()


class DeploymentDefaults(NamedTuple):
    """The deployment ``mistral-invoke preflight`` checks when told nothing: the constructs' defaults for the
    settings its checks depend on (``mistral_endpoint.DEFAULTS`` is built from these)."""

    #: One NVIDIA A10G (24 GB): the smallest g5 that holds 14 GB of fp16 weights and a full KV cache.
    instance_type: str = "ml.g5.2xlarge"
    #: Most instances (or copies) autoscaling adds; a blue/green update briefly needs as many again.
    max_capacity: int = 2
    #: Host the model as an inference component that can scale to zero copies (and instances) when idle.
    scale_to_zero: bool = False
    #: Whether the proxy's function URL streams server-sent events (Lambda Web Adapter, RESPONSE_STREAM).
    streaming: bool = True
    #: How applications reach the proxy (one of ``FRONT_DOORS``).
    front_door: str = "url"


DEPLOYMENT_DEFAULTS = DeploymentDefaults()
