"""MistralEndpointStack's settings, read from cdk.json context and `-c key=value` flags."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from constructs import Node

from mistral_endpoint import DEFAULTS, ConfigurationError, MistralModel

#: The ``model`` context values: the one place a model is named by a string.
MODELS = {"instruct": MistralModel.instruct, "base": MistralModel.base}


@dataclass(frozen=True)
class StackConfig:
    """One field per context key (camelCase on the command line: `-c instanceType=ml.g5.4xlarge`).

    Defaults come from ``mistral_endpoint.DEFAULTS``, as the constructs' do.
    """

    model: str = DEFAULTS.model
    instance_type: str = DEFAULTS.instance_type
    instance_count: int = DEFAULTS.initial_instance_count
    max_input_length: int = DEFAULTS.max_input_length
    max_total_tokens: int = DEFAULTS.max_total_tokens
    max_batch_prefill_tokens: int | None = None
    max_concurrent_requests: int | None = None
    default_max_new_tokens: int = DEFAULTS.default_max_new_tokens
    proxy_in_vpc: bool = DEFAULTS.proxy_in_vpc
    region: str | None = None

    @classmethod
    def context_keys(cls) -> dict[str, str]:
        """Context key -> field name."""
        return {_camel(f.name): f.name for f in fields(cls)}

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        values: dict[str, Any] = {}
        for key, name in cls.context_keys().items():
            raw = node.try_get_context(key)
            if raw is not None and raw != "":
                values[name] = _parse(key, raw, cls.__dataclass_fields__[name].type)
        config = cls(**values)
        if config.model not in MODELS:
            raise ConfigurationError(f"context model={config.model!r}: use one of {', '.join(MODELS)}")
        return config

    def mistral_model(self) -> MistralModel:
        return MODELS[self.model]()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _parse(key: str, raw: object, annotation: object) -> object:
    """-c flags arrive as strings, cdk.json values as JSON: accept both, reject anything else clearly."""
    kind = str(annotation)
    if "bool" in kind:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"true", "false"}:
            return str(raw).lower() == "true"
        raise ConfigurationError(f"context {key}={raw!r}: use true or false")
    if "int" in kind:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw)
        raise ConfigurationError(f"context {key}={raw!r}: use a whole number")
    if not isinstance(raw, str):
        raise ConfigurationError(f"context {key}={raw!r}: use a string")
    return raw
