"""Every default of the pattern, in one frozen object: ``DEFAULTS``.

The constructs' props, the app's ``StackConfig`` and ``cdk.json`` read it, and the docs' tables are held to it.
The values the proxy's runtime and the client share (token limits, model id, prompt format; the instance type,
capacity, scale to zero and streaming that ``mistral-invoke preflight`` assumes) come from the runtime's
contract, ``invoke_proxy.contract``; the rest (alarms, cooldowns, baking, memory size, ...) are CDK-only and
live here. Importing this module loads neither aws-cdk-lib nor boto3.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from ._lambda import contract

_RUNTIME = contract.RUNTIME_DEFAULTS
_DEPLOYMENT = contract.DEPLOYMENT_DEFAULTS


class Defaults(NamedTuple):
    """Immutable. The values the runtime and ``mistral-invoke preflight`` assume too come from the contract
    (``invoke_proxy.contract``), so they are written once; the rest are the constructs' own."""

    #: The app's ``model`` context value: Mistral 7B Instruct from JumpStart.
    model: str = "instruct"
    #: JumpStart id of the default weights, reported as the OpenAI route's ``model``.
    model_id: str = _RUNTIME.model_id
    #: The proxy's prompt format for the default weights (``none`` for a base model).
    prompt_format: str = _RUNTIME.prompt_format
    #: One NVIDIA A10G (24 GB): the smallest g5 that holds 14 GB of fp16 weights and a full KV cache.
    instance_type: str = _DEPLOYMENT.instance_type
    initial_instance_count: int = 1
    #: TGI MAX_INPUT_LENGTH: the longest prompt, in tokens (JumpStart's value for these models).
    max_input_length: int = _RUNTIME.max_input_length
    #: TGI MAX_TOTAL_TOKENS: prompt plus generated tokens; Mistral 7B's context window.
    max_total_tokens: int = _RUNTIME.max_total_tokens
    #: What the proxy asks TGI for when a request names no max_new_tokens (TGI's own default, 20, surprises).
    default_max_new_tokens: int = _RUNTIME.default_max_new_tokens
    #: Seconds the container may take to pass its first health check; 14 GB of weights take minutes to load.
    startup_health_check_timeout_seconds: int = 900
    #: Seconds the weights may take to download through the S3 gateway endpoint.
    model_data_download_timeout_seconds: int = 900
    #: Fewest instances autoscaling keeps (0 in scale-to-zero mode, where the model is an inference component).
    min_capacity: int = 1
    #: Most instances (or copies) autoscaling adds; a blue/green update briefly needs as many again.
    max_capacity: int = _DEPLOYMENT.max_capacity
    #: Concurrent requests per instance that target tracking holds: where the launch article's ms/token is still
    #: within about 1.5x of a single user's on short prompts and throughput is half its peak; at most half of
    #: TGI's MAX_CONCURRENT_REQUESTS (128 unless set), so a burst finds headroom before TGI answers 429.
    target_concurrent_requests: int = 32
    #: Seconds between scale-outs: a g5 takes minutes to come up, so a shorter wait would overshoot.
    scale_out_cooldown_seconds: int = 300
    #: Seconds between scale-ins: longer than scale-out, so a lull does not drop capacity a burst needs.
    scale_in_cooldown_seconds: int = 900
    #: Host the model as an inference component that can scale to zero copies (and instances) when idle.
    scale_to_zero: bool = _DEPLOYMENT.scale_to_zero
    #: Seconds an update watches the new fleet (blue/green) or copy (rolling) before it finishes.
    deployment_baking_seconds: int = 600
    #: Seconds the old fleet stays up after the new one took all traffic, so a late alarm can still roll back.
    deployment_termination_wait_seconds: int = 300
    #: The proxy's memory in MiB (also buys CPU for its cold start).
    proxy_memory_size: int = 512
    #: Whether the proxy runs in the isolated subnets (reaching SageMaker through the runtime VPC endpoint).
    proxy_in_vpc: bool = True
    #: Whether MistralEndpoint (and the app) create the alarms, alarm topic and dashboard.
    monitoring: bool = True
    #: Each alarm's (threshold, evaluation periods of one minute); the README's Operations section says why.
    #: Units: ModelLatencyP90 seconds; MsPerTokenP90 milliseconds per generated token; Invocation4XXErrorRate, ProxyServerErrorRate percent of requests;
    #: GPUMemoryUtilization percent per GPU; NoHealthyCapacity percent GPU memory (below it, no model is
    #: loaded); ProxyDurationP99 and PrivateApiLatencyP90 percent of the (integration) timeout;
    #: PrivateApiServerErrorRate percent of requests; the others counts per minute.
    alarms: Mapping[str, tuple[float, int]] = MappingProxyType(
        {
            "ModelLatencyP90": (45, 5),
            "Invocation5XXErrors": (1, 2),
            "Invocation4XXErrorRate": (5, 5),
            "GPUMemoryUtilization": (95, 15),
            "NoHealthyCapacity": (10, 15),
            "WakeUpNotCompleting": (1, 20),
            "ProxyErrors": (1, 1),
            "ProxyThrottles": (1, 1),
            "ProxyDurationP99": (80, 3),
            "ProxyServerErrorRate": (5, 5),
            "MsPerTokenP90": (500, 5),
            "PrivateApiServerErrorRate": (5, 5),
            "PrivateApiLatencyP90": (80, 5),
        }
    )
    #: Whether the proxy's function URL streams server-sent events (Lambda Web Adapter, RESPONSE_STREAM).
    streaming: bool = _DEPLOYMENT.streaming
    #: How applications reach the proxy: ``url`` (the function URL), ``private`` or ``both``.
    front_door: str = _DEPLOYMENT.front_door
    #: The private REST API stage's steady requests per second: at a 20-second answer, 10 a second keep about 200
    #: proxy functions busy, a fifth of an account's default 1,000 concurrent executions.
    private_api_requests_per_second: int = 10
    #: The private REST API stage's burst: requests admitted at once above the steady rate.
    private_api_burst_requests: int = 20


DEFAULTS = Defaults()
