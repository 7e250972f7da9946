"""MistralEndpointStack's settings, read from cdk.json context and `-c key=value` flags."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from constructs import Node

from mistral_endpoint import DEFAULTS, ConfigurationError, MistralModel, ScalingSchedule

#: The ``model`` context values: the one place a model is named by a string.
MODELS = {"instruct": MistralModel.instruct, "base": MistralModel.base}
_BUSINESS_HOURS = re.compile(r"^(\S+)\s+(\d{1,2})-(\d{1,2})(?:\s+(\S+))?$")


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
    min_instances: int | None = None
    max_instances: int = DEFAULTS.max_capacity
    scale_to_zero: bool = DEFAULTS.scale_to_zero
    #: "TIME_ZONE START-END [DAYS]", e.g. "Europe/Paris 8-19 MON-FRI": capacity kept warm in that window.
    business_hours: str | None = None
    monitoring: bool = DEFAULTS.monitoring
    alarm_email: str | None = None
    streaming: bool = DEFAULTS.streaming
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

    def schedule(self) -> ScalingSchedule | None:
        """The ``businessHours`` window, e.g. ``Europe/Paris 8-19 MON-FRI`` (days default to MON-FRI)."""
        if self.business_hours is None:
            return None
        match = _BUSINESS_HOURS.match(self.business_hours.strip())
        if match is None:
            raise ConfigurationError(
                f"context businessHours={self.business_hours!r}: use 'TIME_ZONE START-END [DAYS]', "
                "e.g. 'Europe/Paris 8-19 MON-FRI'"
            )
        time_zone, start, end, days = match.groups()
        return ScalingSchedule.business_hours(
            time_zone, start_hour=int(start), end_hour=int(end), week_days=days or "MON-FRI"
        )


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
