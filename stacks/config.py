"""MistralEndpointStack's settings, read from cdk.json context and `-c key=value` flags, checked as a whole.

Every key is checked before anything is built: a misspelled key is an error naming the nearest known one, and
every message names the context key and the value the user typed. Errors the constructs raise while the app
builds the stack are restated in the same terms (:func:`in_context_terms`).
"""

from __future__ import annotations

import difflib
import re
import warnings
import zoneinfo
from collections.abc import Mapping
from dataclasses import Field, dataclass, fields
from typing import Any

from constructs import Node

from mistral_endpoint import DEFAULTS, ConfigurationError, MistralModel, ScalingSchedule
from mistral_endpoint.props import PARTS

#: The ``model`` context values: the one place a model is named by a string.
MODELS = {"instruct": MistralModel.instruct, "base": MistralModel.base}
_BUSINESS_HOURS = re.compile(r"^(\S+)\s+(\d{1,2})-(\d{1,2})(?:\s+(\S+))?$")

#: The naming rule between context keys and props, with no exception: a key is its prop's name in camelCase.
#: Keys of earlier releases that broke it still work, as deprecated spellings of the new key: a warning names the
#: new key, and every message about the value names the key the user typed.
RENAMED_KEYS: Mapping[str, str] = {
    "instanceCount": "initialInstanceCount",
    "minInstances": "minCapacity",
    "maxInstances": "maxCapacity",
    "businessHours": "schedule",
}

#: Context keys the app reads besides StackConfig's: key -> what it does.
APP_KEYS: Mapping[str, str] = {"compliance": "'off' leaves the cdk-nag packs out of the synth"}

# Keys CDK itself reads or writes, which pass unchecked:
# - feature flags and the toolkit's own settings: `@aws-cdk/...` (cdk.json, and `@aws-cdk/core:
#   failSynthOnValidationErrors`, which the CLI passes on every synth), `@aws-cdk-containers/...`;
# - what the CLI injects when it runs the app (aws-cdk 2.1148, lib/cli: `aws:cdk:enable-path-metadata`,
#   `aws:cdk:enable-asset-metadata`, `aws:cdk:version-reporting`, `aws:cdk:bundling-stacks`, and with
#   `--no-version-reporting`/`--no-staging` `aws:cdk:disable-version-reporting`/`aws:cdk:disable-asset-staging`;
#   seen in CDK_CONTEXT_JSON) and what cdk.App props set (`aws:cdk:disable-stack-trace`, ...);
# - what the CLI stores in cdk.context.json: `acknowledged-issue-numbers` (`cdk acknowledge`), `cli-telemetry`
#   (`cdk cli-telemetry --disable`), and lookups keyed `<provider>:<props>` with the providers of the cloud
#   assembly schema's ContextProvider enum (`availability-zones:account=...:region=...`, `ssm:...`, ...);
# - older or third-party spellings: `aws-cdk:...`, `cdk-...`.
CDK_KEY_PREFIXES = ("@aws-cdk/", "@aws-cdk-containers/", "aws:cdk:", "aws-cdk:", "cdk-")
CDK_KEYS = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})
CDK_LOOKUP_PROVIDERS = frozenset(
    {
        "ami",
        "availability-zones",
        "hosted-zone",
        "ssm",
        "vpc-provider",
        "endpoint-service-availability-zones",
        "load-balancer",
        "load-balancer-listener",
        "security-group",
        "key-provider",
        "cc-api-provider",
        "plugin",
    }
)


@dataclass(frozen=True)
class ContextValue:
    """A context key whose string is not its prop's own value: how to read it, and what it takes."""

    doc: str
    default: str | None


#: Keys typed as strings for props that take objects. Every other key takes its prop's own value.
CONTEXT_VALUES: Mapping[str, ContextValue] = {
    "model": ContextValue(
        "`instruct` (Mistral 7B Instruct, JumpStart `huggingface-llm-mistral-7b-instruct` 2.0.0) or `base` "
        "(`huggingface-llm-mistral-7b` 2.1.0)",
        DEFAULTS.model,
    ),
    "schedule": ContextValue(
        "`TIME_ZONE START-END [DAYS]`, e.g. `Europe/Paris 8-19 MON-FRI` (days default to `MON-FRI`): one copy "
        "kept warm in that window; needs `scaleToZero`",
        None,
    ),
    "private_api_vpc_endpoint_ids": ContextValue(
        "comma-separated ids (a JSON list in cdk.json) of further `execute-api` endpoints the private API admits, e.g. "
        "`vpce-0a1b2c3d4e5f67890,vpce-0123456789abcdef0` (other VPCs, other accounts); needs `frontDoor` "
        "`private` or `both`",
        None,
    ),
}
#: Keys whose prop takes several strings: comma-separated with -c, or a JSON list of strings in cdk.json.
LIST_VALUES = frozenset({"private_api_vpc_endpoint_ids"})
#: Settings of the app itself, not props: key -> (field, what it does).
APP_SETTINGS: Mapping[str, str] = {"region": "pin the stack to a region (`env`); default: region-agnostic"}


def context_fields() -> dict[str, tuple[type, Field[Any]]]:
    """Prop name -> (its part, its field), for every prop the app reads from context."""
    return {f.name: (part, f) for part in PARTS for f in fields(part) if f.metadata.get("context")}


class StackConfig:
    """The app's settings, one per context key: a key is its prop's name in camelCase (``-c maxCapacity=4``
    sets ``ScalingOptions.max_capacity``), read as ``config.max_capacity``.

    Defaults are the props' own; :meth:`options` builds the parts MistralEndpoint takes.
    """

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.context_keys().values())
        if unknown:
            raise TypeError(f"StackConfig has no setting {', '.join(sorted(unknown))}")
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self.context_keys().values():
            raise AttributeError(name)
        if name in self._values:
            return self._values[name]
        if name in CONTEXT_VALUES:
            return CONTEXT_VALUES[name].default
        return context_fields()[name][1].default if name in context_fields() else None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StackConfig) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    @classmethod
    def context_keys(cls) -> dict[str, str]:
        """Context key -> prop (or app setting) name."""
        return {_camel(name): name for name in [*context_fields(), *APP_SETTINGS]}

    @classmethod
    def from_context(cls, node: Node) -> StackConfig:
        """The settings in ``node``'s context, checked as a whole; a ConfigurationError names the key and value."""
        typed = _renamed_keys_typed(node)
        try:
            return cls._from_given(_with_new_keys(node.get_all_context(), typed))
        except ConfigurationError as error:
            raise _as_typed(error, typed) from None

    @classmethod
    def _from_given(cls, given: dict[str, Any]) -> StackConfig:
        _check_keys_are_known(given)
        props = context_fields()
        values: dict[str, Any] = {}
        for key, name in cls.context_keys().items():
            raw = given.get(key)
            if name in LIST_VALUES and isinstance(raw, list) and all(isinstance(item, str) for item in raw):
                raw = ",".join(raw)  # cdk.json may hold the list as JSON; -c gives it comma-separated
            if raw is not None and raw != "":
                kind = "str" if name in CONTEXT_VALUES or name not in props else str(props[name][1].type)
                values[name] = _parse(key, raw, kind)
        config = cls(**values)
        config._check(given)
        return config

    def options(self) -> dict[str, Any]:
        """MistralEndpoint's keyword arguments: each part the context sets, under the part's name in snake_case
        (``ScalingOptions`` -> ``scaling_options``)."""
        by_part: dict[type, dict[str, Any]] = {}
        for name, (part, _) in context_fields().items():
            if name == "model":
                value: Any = self.mistral_model()
            elif name == "schedule":
                value = self.scaling_schedule()
            elif name == "max_input_length":
                value = self.input_length
            elif name == "private_api_vpc_endpoint_ids" and name in self._values:
                value = tuple(vpce.strip() for vpce in self._values[name].split(",") if vpce.strip())
            elif name in self._values:
                value = self._values[name]
            else:
                continue
            by_part.setdefault(part, {})[name] = value
        return {_snake(part.__name__): part(**props) for part, props in by_part.items()}

    @property
    def input_length(self) -> int:
        """TGI's MAX_INPUT_LENGTH: ``maxInputLength``, else the longest prompt ``maxTotalTokens`` leaves a token for."""
        return self.max_total_tokens - 1 if self.max_input_length is None else int(self.max_input_length)

    def mistral_model(self) -> MistralModel:
        return MODELS[self.model]()

    def scaling_schedule(self) -> ScalingSchedule | None:
        """The ``schedule`` window, e.g. ``Europe/Paris 8-19 MON-FRI`` (days default to MON-FRI)."""
        if self.schedule is None:
            return None
        given = f"context schedule={self.schedule!r}"
        match = _BUSINESS_HOURS.match(self.schedule.strip())
        if match is None:
            raise ConfigurationError(
                f"{given}: use 'TIME_ZONE START-END [DAYS]', e.g. 'Europe/Paris 8-19 MON-FRI'"
            )
        time_zone, start, end, days = match.groups()
        _check_time_zone(given, time_zone)
        schedule = ScalingSchedule.business_hours(
            time_zone, start_hour=int(start), end_hour=int(end), week_days=days or "MON-FRI"
        )
        try:
            schedule.check()
        except ConfigurationError as error:
            raise ConfigurationError(f"{given}: {str(error).removeprefix('schedule ')}") from None
        return schedule

    def _check(self, given: Mapping[str, object]) -> None:
        """What one key cannot say alone: the keys' relations, each message naming what to set."""
        if self.model not in MODELS:
            raise ConfigurationError(f"context model={given['model']!r}: use one of {', '.join(MODELS)}")
        self._check_capacity(given)
        if self.max_input_length is not None and self.max_input_length >= self.max_total_tokens:
            raise ConfigurationError(
                f"context maxInputLength={given['maxInputLength']!r} must be less than maxTotalTokens "
                f"({self.max_total_tokens}): TGI needs room for one generated token; leave maxInputLength unset "
                "and it follows maxTotalTokens"
            )
        prefill = self.max_batch_prefill_tokens
        if prefill is not None and 1 <= prefill < self.input_length:
            follows = "" if self.max_input_length is not None else ", which follows maxTotalTokens"
            raise ConfigurationError(
                f"context maxBatchPrefillTokens={given['maxBatchPrefillTokens']!r} must be at least maxInputLength "
                f"({self.input_length}{follows}): TGI cannot prefill a maximal prompt otherwise"
            )
        if self.schedule is not None:
            self.scaling_schedule()
            if not self.scale_to_zero:
                raise ConfigurationError(
                    f"context schedule={given['schedule']!r} needs -c scaleToZero=true: the window keeps "
                    f"one copy warm on an endpoint that scales to zero outside it, and an always-on endpoint "
                    f"already keeps {self.min_capacity or DEFAULTS.min_capacity} instance(s) up at all times"
                )
        if self.alarm_email is not None and not self.monitoring:
            raise ConfigurationError(
                f"context alarmEmail={given['alarmEmail']!r} needs monitoring=true (it subscribes to the alarm "
                "topic): drop alarmEmail, or set -c monitoring=true"
            )

    def _check_capacity(self, given: Mapping[str, object]) -> None:
        if self.scale_to_zero:
            if self.min_capacity not in (None, 0):
                raise ConfigurationError(
                    f"context minCapacity={given['minCapacity']!r}: with scaleToZero=true the floor is 0 copies: "
                    "leave minCapacity unset, or keep copies warm in a window with -c schedule=..."
                )
            return
        if self.min_capacity is not None and self.min_capacity < 1:
            raise ConfigurationError(
                f"context minCapacity={given['minCapacity']!r}: must be at least 1 (an always-on endpoint keeps "
                "one instance), or 0 with -c scaleToZero=true"
            )
        if self.max_capacity < 1:
            return  # the construct refuses it, and in_context_terms names maxCapacity
        floor = DEFAULTS.min_capacity if self.min_capacity is None else self.min_capacity
        if floor > self.max_capacity:
            raise ConfigurationError(
                f"context minCapacity={given['minCapacity']!r} must not exceed maxCapacity "
                f"({self.max_capacity}): raise maxCapacity, or lower minCapacity"
            )
        if self.initial_instance_count >= 1 and not floor <= self.initial_instance_count <= self.max_capacity:
            raise ConfigurationError(
                f"context initialInstanceCount={given.get('initialInstanceCount', self.initial_instance_count)!r} must be "
                f"between minCapacity ({floor}) and maxCapacity ({self.max_capacity})"
            )


def in_context_terms(error: ConfigurationError, node: Node) -> ConfigurationError:
    """A construct's error restated for the context key the user typed (``maxCapacity``, not ``max_capacity``).

    An error about one prop names its key and value instead of the prop; an error about several is prefixed with
    the keys and values of the props it names; the region a stack is pinned to is named as ``region``.
    """
    typed = _renamed_keys_typed(node)
    keys = {prop_of(key): typed.get(key, key) for key in StackConfig.context_keys()}
    key = keys.get(error.prop or "")
    if key is not None and node.try_get_context(key) is not None:
        return ConfigurationError(
            f"context {key}={node.try_get_context(key)!r}: {error.reason}", prop=error.prop
        )
    message = str(error)
    named = [
        f"{key}={node.try_get_context(key)!r}"
        for prop, key in keys.items()
        # Props spelled like plain words ("model", "region") would match prose; "schedule min_capacity" is the
        # window's field, not the endpoint's min_capacity.
        if "_" in prop
        and node.try_get_context(key) is not None
        and re.search(rf"(?<!schedule )\b{prop}\b", message)
    ]
    region = node.try_get_context("region")
    if region and f"pinned to {region}" in message:
        named.append(f"region={region!r}")
    return ConfigurationError(f"context {', '.join(named)}: {message}") if named else error


def _renamed_keys_typed(node: Node) -> dict[str, str]:
    """New key -> the earlier release's key the user typed for it (``minCapacity`` -> ``minInstances``)."""
    context = node.get_all_context()
    typed = {new: old for old, new in RENAMED_KEYS.items() if context.get(old) is not None}
    for new, old in typed.items():
        if context.get(new) is not None:
            raise ConfigurationError(
                f"context {old}={context[old]!r} and {new}={context[new]!r} set the same prop: keep {new} "
                f"({old} is its earlier spelling)"
            )
        warnings.warn(
            f"context key {old} is deprecated: use {new} (a key is its prop's name in camelCase)",
            FutureWarning,
            stacklevel=3,
        )
    return typed


def _with_new_keys(context: Mapping[str, Any], typed: Mapping[str, str]) -> dict[str, Any]:
    renamed = {old: new for new, old in typed.items()}
    return {renamed.get(key, key): value for key, value in context.items() if value is not None}


def _as_typed(error: ConfigurationError, typed: Mapping[str, str]) -> ConfigurationError:
    """``error`` naming the keys as the user typed them (``minInstances``, not ``minCapacity``)."""
    message = str(error)
    for new, old in typed.items():
        message = re.sub(rf"\b{new}\b", old, message)
    return ConfigurationError(message, prop=error.prop) if typed else error


def prop_of(key: str) -> str:
    """The MistralEndpoint prop a context key sets."""
    return _snake(key)


def _check_keys_are_known(given: Mapping[str, object]) -> None:
    known = [*StackConfig.context_keys(), *APP_KEYS]
    unknown = [key for key in given if key not in known and not _is_cdks(key)]
    if not unknown:
        return
    described = [f"{key}={given[key]!r}{_suggestion(key, known)}" for key in unknown]
    plural = "s" if len(unknown) > 1 else ""
    hint = "" if all("did you mean" in d for d in described) else f"; this app reads {', '.join(known)}"
    raise ConfigurationError(f"unknown context key{plural} {', '.join(described)}{hint}")


def _is_cdks(key: str) -> bool:
    provider, _, props = key.partition(":")
    return (
        key.startswith(CDK_KEY_PREFIXES)
        or key in CDK_KEYS
        or (provider in CDK_LOOKUP_PROVIDERS and bool(props))
    )


def _suggestion(key: str, known: list[str]) -> str:
    """`` (did you mean scaleToZero?)``: spelled alike ignoring case and separators first, then by difflib."""
    # A misspelling of a renamed key points to its new name.
    by_folded = {**{_fold(old): new for old, new in RENAMED_KEYS.items()}, **{_fold(k): k for k in known}}
    nearest = by_folded.get(_fold(key))
    if nearest is None:
        close = difflib.get_close_matches(_fold(key), by_folded, n=1, cutoff=0.7)
        nearest = by_folded[close[0]] if close else None
    return f" (did you mean {nearest}?)" if nearest else ""


def _fold(key: str) -> str:
    return re.sub(r"[-_.\s]", "", key).lower()


def _check_time_zone(given: str, time_zone: str) -> None:
    """Application Auto Scaling takes IANA names (the standard library's tz database knows them)."""
    known = zoneinfo.available_timezones()
    if not known or time_zone in known:
        return  # no tz database on this machine: the construct's own check still applies
    close = difflib.get_close_matches(time_zone, known, n=1)
    example = close[0] if close else "Europe/Paris"
    raise ConfigurationError(
        f"{given}: {time_zone!r} is not an IANA time zone name: use one such as {example!r}"
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _parse(key: str, raw: object, kind: str) -> object:
    """-c flags arrive as strings, cdk.json values as JSON: accept both, reject anything else clearly."""
    if "bool" in kind:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"true", "false"}:
            return str(raw).lower() == "true"
        raise ConfigurationError(f"context {key}={raw!r}: use true or false")
    if "int" in kind:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        # Negative numbers parse here so that the range check can say what the range is.
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
            return int(raw)
        raise ConfigurationError(f"context {key}={raw!r}: use a whole number")
    if not isinstance(raw, str):
        raise ConfigurationError(f"context {key}={raw!r}: use a string")
    return raw
