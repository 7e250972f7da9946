"""The proxy's configuration: read once from the environment the CDK construct sets, validated up front.

A misconfigured function fails at import (Lambda reports an init error with this message) instead of
answering every request with a confusing error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from .contract import (
    ENV_CALLER_METRICS,
    ENV_DEFAULT_MAX_NEW_TOKENS,
    ENV_ENDPOINT_NAME,
    ENV_INFERENCE_COMPONENT_NAME,
    ENV_LOG_PROMPTS,
    ENV_MAX_INPUT_LENGTH,
    ENV_MAX_TOTAL_TOKENS,
    ENV_MODEL_ID,
    ENV_PROMPT_FORMAT,
    PROMPT_FORMATS,
)
from .contract import RUNTIME_DEFAULTS as DEFAULTS

# SageMaker InvokeEndpoint accepts at most 6 MB; function URLs cap the request at 6 MB too. The proxy refuses
# request bodies above 5 MiB so the payload it builds (template text, JSON re-encoding) still fits under
# SageMaker's limit, which it also checks before calling.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
SAGEMAKER_MAX_PAYLOAD_BYTES = 6 * 1000 * 1000

# TGI 1.1 launcher defaults, which the JumpStart container does not override.
MAX_STOP_SEQUENCES = 4
MAX_BEST_OF = 2
MAX_TOP_N_TOKENS = 5

# SageMaker's InferenceComponentName: at most 63 letters, digits and hyphens, no hyphen at either end (the
# pattern in botocore's sagemaker-runtime service model).
_INFERENCE_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")


class ConfigError(ValueError):
    """The function's environment is missing a value or holds an invalid one."""


class Config(NamedTuple):
    """Immutable. A NamedTuple rather than a frozen dataclass: a few milliseconds less cold start."""

    endpoint_name: str
    region: str | None
    max_input_length: int
    max_total_tokens: int
    default_max_new_tokens: int
    model_id: str
    prompt_format: str
    log_prompts: bool
    # Set when the model is an inference component (scale-to-zero endpoints): every invocation names it.
    inference_component_name: str | None = None
    # Metrics per caller (the Caller dimension): on unless CALLER_METRICS is false.
    caller_metrics: bool = True

    @property
    def max_new_tokens_limit(self) -> int:
        # TGI requires input tokens + max_new_tokens <= MAX_TOTAL_TOKENS; every input has at least one token.
        return self.max_total_tokens - 1

    @property
    def chat_enabled(self) -> bool:
        return self.prompt_format != "none"


def _positive_int(env: Mapping[str, str], name: str, default: str | None) -> int:
    raw = env.get(name, default)
    if raw is None or raw.strip() == "":
        raise ConfigError(f"{name} is required: set it to a positive integer (got nothing)")
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: str = "false") -> bool:
    raw = env.get(name, default).strip().lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no", ""):
        return False
    raise ConfigError(f"{name} must be 'true' or 'false', got {env.get(name)!r}")


def load_config(env: Mapping[str, str]) -> Config:
    """Build the configuration from an environment mapping (``os.environ`` in Lambda)."""
    endpoint_name = env.get(ENV_ENDPOINT_NAME, "").strip()
    if not endpoint_name:
        raise ConfigError(f"{ENV_ENDPOINT_NAME} is required: set it to the SageMaker endpoint's name")
    max_input_length = _positive_int(env, ENV_MAX_INPUT_LENGTH, str(DEFAULTS.max_input_length))
    max_total_tokens = _positive_int(env, ENV_MAX_TOTAL_TOKENS, str(DEFAULTS.max_total_tokens))
    default_max_new_tokens = _positive_int(
        env, ENV_DEFAULT_MAX_NEW_TOKENS, str(DEFAULTS.default_max_new_tokens)
    )
    if max_input_length >= max_total_tokens:
        raise ConfigError(
            f"{ENV_MAX_INPUT_LENGTH} ({max_input_length}) must be below {ENV_MAX_TOTAL_TOKENS} "
            f"({max_total_tokens}), as TGI itself requires"
        )
    if default_max_new_tokens >= max_total_tokens:
        raise ConfigError(
            f"{ENV_DEFAULT_MAX_NEW_TOKENS} ({default_max_new_tokens}) must be below {ENV_MAX_TOTAL_TOKENS} "
            f"({max_total_tokens})"
        )
    prompt_format = env.get(ENV_PROMPT_FORMAT, DEFAULTS.prompt_format).strip()
    if prompt_format not in PROMPT_FORMATS:
        raise ConfigError(
            f"{ENV_PROMPT_FORMAT} must be one of {', '.join(PROMPT_FORMATS)}; got {prompt_format!r}"
        )
    model_id = env.get(ENV_MODEL_ID, DEFAULTS.model_id).strip()
    if not model_id:
        raise ConfigError(f"{ENV_MODEL_ID} must not be empty when set")
    inference_component_name = _inference_component_name(env)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    return Config(
        endpoint_name=endpoint_name,
        region=region,
        max_input_length=max_input_length,
        max_total_tokens=max_total_tokens,
        default_max_new_tokens=default_max_new_tokens,
        model_id=model_id,
        prompt_format=prompt_format,
        log_prompts=_bool(env, ENV_LOG_PROMPTS),
        inference_component_name=inference_component_name,
        caller_metrics=_bool(env, ENV_CALLER_METRICS, "true"),
    )


def _inference_component_name(env: Mapping[str, str]) -> str | None:
    """Optional: absent or empty means the endpoint hosts the model directly (no inference component)."""
    raw = env.get(ENV_INFERENCE_COMPONENT_NAME, "")
    name = raw.strip()
    if not name:
        return None
    if len(name) > 63 or not _INFERENCE_COMPONENT_NAME.match(name):
        raise ConfigError(
            f"{ENV_INFERENCE_COMPONENT_NAME} must be a SageMaker inference component name (1-63 letters, digits "
            f"and hyphens, starting and ending with a letter or digit), got {raw!r}"
        )
    return name
