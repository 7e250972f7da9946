"""The TGI 1.1 container's settings (GPUs per instance type, token limits, environment) and the fleet's sizing,
checked at synth."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_cdk import Duration

from ._validation import ConfigurationError, is_unresolved, require_int, require_seconds
from .defaults import DEFAULTS
from .hosting_modes import Fleet
from .model import MISTRAL_7B_MAX_TOTAL_TOKENS

if TYPE_CHECKING:  # types only
    from .hosting_modes import HostingMode
    from .props import ScalingOptions, ServingOptions, UpdateOptions

#: GPUs per instance type: TGI shards the model over SM_NUM_GPUS of them. ml.g5.xlarge (16 GiB of host
#: memory) cannot load 14 GB of fp16 weights; every larger g5 can.
GPUS_BY_INSTANCE_TYPE: Mapping[str, int] = {
    "ml.g5.2xlarge": 1,
    "ml.g5.4xlarge": 1,
    "ml.g5.8xlarge": 1,
    "ml.g5.16xlarge": 1,
    "ml.g5.12xlarge": 4,
    "ml.g5.24xlarge": 4,
    "ml.g5.48xlarge": 8,
}

# The environment JumpStart sets for these model versions on TGI 1.1 (CloudFormation wants every value a string).
JUMPSTART_ENVIRONMENT = {
    "HF_MODEL_ID": "/opt/ml/model",
    "MODEL_CACHE_ROOT": "/opt/ml/model",
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
    "ENDPOINT_SERVER_TIMEOUT": "3600",
    "SAGEMAKER_ENV": "1",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
}
# Environment keys owned by props: setting them through container_environment would silently fight them.
_PROP_FOR_KEY = {
    "SM_NUM_GPUS": "instance_type",
    "MAX_INPUT_LENGTH": "max_input_length",
    "MAX_TOTAL_TOKENS": "max_total_tokens",
    "MAX_BATCH_PREFILL_TOKENS": "max_batch_prefill_tokens",
    "MAX_CONCURRENT_REQUESTS": "max_concurrent_requests",
    "HF_MODEL_ID": "model",
}
_TIMEOUT_HINT = "7B weights are 14 GB: allow several minutes"
_ENV_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")


def gpus_for(instance_type: str) -> int:
    if is_unresolved(instance_type):
        raise ConfigurationError(
            "instance_type must be known at synth time (it sets SM_NUM_GPUS), got a token: pass a literal such as "
            "'ml.g5.2xlarge'"
        )
    if instance_type not in GPUS_BY_INSTANCE_TYPE:
        raise ConfigurationError(
            f"instance_type {instance_type!r} cannot serve Mistral 7B on TGI 1.1: use one of "
            f"{', '.join(GPUS_BY_INSTANCE_TYPE)}"
        )
    return GPUS_BY_INSTANCE_TYPE[instance_type]


def check_token_limits(
    max_input: int | None, max_total: int, max_prefill: int | None
) -> tuple[int, int, int]:
    """TGI refuses to start unless input < total <= the model's limit and prefill >= input. The input limit
    follows the total (one token less) unless given."""
    require_int(
        "max_total_tokens",
        max_total,
        minimum=2,
        maximum=MISTRAL_7B_MAX_TOTAL_TOKENS,
        hint=f"Mistral 7B's context window is {MISTRAL_7B_MAX_TOTAL_TOKENS} tokens",
    )
    if max_input is None:
        max_input = max_total - 1
    require_int("max_input_length", max_input, minimum=1, maximum=MISTRAL_7B_MAX_TOTAL_TOKENS - 1)
    if max_input >= max_total:
        raise ConfigurationError(
            f"max_input_length ({max_input}) must be less than max_total_tokens ({max_total}): "
            "TGI needs room for at least one generated token"
        )
    prefill = max_input if max_prefill is None else max_prefill
    require_int("max_batch_prefill_tokens", prefill, minimum=1)
    if prefill < max_input:
        raise ConfigurationError(
            f"max_batch_prefill_tokens ({prefill}) must be at least max_input_length ({max_input}): "
            "TGI cannot prefill a maximal prompt otherwise"
        )
    return max_input, max_total, prefill


def container_environment(
    *,
    gpus: int,
    max_input: int,
    max_total: int,
    prefill: int,
    max_concurrent_requests: int | None,
    extra: Mapping[str, str] | None,
) -> dict[str, str]:
    """JumpStart's environment for TGI 1.1, the props' token limits, then ``extra`` (checked)."""
    environment = {
        **JUMPSTART_ENVIRONMENT,
        "SM_NUM_GPUS": str(gpus),
        "MAX_INPUT_LENGTH": str(max_input),
        "MAX_TOTAL_TOKENS": str(max_total),
        "MAX_BATCH_PREFILL_TOKENS": str(prefill),
    }
    if max_concurrent_requests is not None:
        require_int("max_concurrent_requests", max_concurrent_requests, minimum=1)
        environment["MAX_CONCURRENT_REQUESTS"] = str(max_concurrent_requests)
    environment.update(_check_extra_environment(extra or {}))
    return environment


def _check_extra_environment(extra: Mapping[str, str]) -> dict[str, str]:
    if len(extra) > 80:
        raise ConfigurationError(
            f"container_environment has {len(extra)} entries: SageMaker allows 100 in all"
        )
    for key, value in extra.items():
        if key in _PROP_FOR_KEY:
            raise ConfigurationError(
                f"container_environment sets {key}: use the {_PROP_FOR_KEY[key]} prop instead"
            )
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise ConfigurationError(
                f"container_environment key {key!r} is not a valid environment variable name"
            )
        if not isinstance(value, str) or (not is_unresolved(value) and len(value) > 1024):
            raise ConfigurationError(
                f"container_environment[{key!r}] must be a string of at most 1024 characters, got {value!r}"
            )
    return dict(extra)


def resolve_fleet(
    mode: HostingMode, serving: ServingOptions, scaling: ScalingOptions, updates: UpdateOptions
) -> tuple[Fleet, dict[str, str]]:
    """Every sizing prop checked once, in the order the messages read best; the container's environment."""
    gpus = gpus_for(serving.instance_type)
    initial = serving.initial_instance_count
    require_int("initial_instance_count", initial, minimum=1, allow_token=True)
    max_input, max_total, prefill = check_token_limits(
        serving.max_input_length, serving.max_total_tokens, serving.max_batch_prefill_tokens
    )
    min_capacity, max_capacity = mode.capacity_bounds(initial, scaling.min_capacity, scaling.max_capacity)
    baking_seconds = require_seconds(
        "deployment_baking_time",
        updates.deployment_baking_time or Duration.seconds(DEFAULTS.deployment_baking_seconds),
        minimum=0,
        maximum=3600,
    )
    environment = container_environment(
        gpus=gpus,
        max_input=max_input,
        max_total=max_total,
        prefill=prefill,
        max_concurrent_requests=serving.max_concurrent_requests,
        extra=serving.container_environment,
    )
    fleet = Fleet(
        instance_type=serving.instance_type,
        initial_instance_count=initial,
        gpus=gpus,
        startup_seconds=_timeout(
            "startup_health_check_timeout",
            serving.startup_health_check_timeout,
            DEFAULTS.startup_health_check_timeout_seconds,
        ),
        download_seconds=_timeout(
            "model_data_download_timeout",
            serving.model_data_download_timeout,
            DEFAULTS.model_data_download_timeout_seconds,
        ),
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        baking_seconds=baking_seconds,
        rollback_alarms=updates.rollback_alarms,
    )
    return fleet, environment


def _timeout(name: str, given: Duration | None, default_seconds: int) -> int:
    return require_seconds(
        name, given or Duration.seconds(default_seconds), minimum=60, maximum=3600, hint=_TIMEOUT_HINT
    )
