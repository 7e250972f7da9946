"""One frozen defaults object: the constructs, the app, cdk.json, the proxy, the CLI and the docs agree with it."""

from __future__ import annotations

import ast
import dataclasses
import subprocess

import pytest
from synth_helpers import CDK_JSON_CONTEXT, REPO

from mistral_client.cli import build_parser
from mistral_endpoint import DEFAULTS, MistralModel
from mistral_endpoint.defaults import Defaults
from mistral_endpoint.props import PARTS
from stacks.config import RENAMED_KEYS, StackConfig, prop_of

# Context key -> DEFAULTS field: the prop the key sets (one naming rule, stacks.config.prop_of). Left out: keys
# whose unset value is derived (maxInputLength follows maxTotalTokens; minCapacity is 1, or 0 with scaleToZero).
CONTEXT_FIELDS = {
    key: prop_of(key)
    for key in StackConfig.context_keys()
    if prop_of(key) in Defaults._fields and key not in {"maxInputLength", "minCapacity"}
}


def test_defaults_are_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULTS.max_total_tokens = 4096  # type: ignore[misc]


@pytest.mark.parametrize("part", PARTS, ids=lambda part: part.__name__)
def test_every_prop_with_a_shared_default_reads_it(part: type) -> None:
    # None means "derived": model=None is MistralModel.instruct(), min_capacity=None is 1 (0 with
    # scale_to_zero), target_concurrent_requests=None is 32 or half of max_concurrent_requests,
    # max_input_length=None is max_total_tokens - 1.
    derived = ("model", "min_capacity", "target_concurrent_requests", "max_input_length")
    for field in dataclasses.fields(part):
        if field.name in Defaults._fields and field.name not in derived:
            assert field.default == getattr(DEFAULTS, field.name), f"{part.__name__}.{field.name}"


def test_the_parts_read_every_prop_default_the_defaults_hold() -> None:
    names = {field.name for part in PARTS for field in dataclasses.fields(part)}
    shared = names & set(Defaults._fields)
    assert {"instance_type", "max_total_tokens", "max_capacity", "proxy_memory_size", "streaming"} <= shared


def test_every_context_key_with_a_library_default_is_checked() -> None:
    assert set(CONTEXT_FIELDS) == {
        "model",
        "instanceType",
        "initialInstanceCount",
        "maxTotalTokens",
        "defaultMaxNewTokens",
        "proxyInVpc",
        "maxCapacity",
        "scaleToZero",
        "monitoring",
        "streaming",
        "frontDoor",
    }


def test_stack_config_defaults_are_the_librarys() -> None:
    config = StackConfig()
    keys = StackConfig.context_keys()
    for key, field in CONTEXT_FIELDS.items():
        assert getattr(config, keys[key]) == getattr(DEFAULTS, field), key


# Keys an earlier release spelled otherwise (stacks.config.RENAMED_KEYS) are left out of cdk.json: a user who
# still types `-c maxInstances=1` would otherwise set the same prop twice, and be refused.
UNPINNED_IN_CDK_JSON = set(RENAMED_KEYS.values())


def test_cdk_json_context_equals_the_defaults() -> None:
    for key, field in CONTEXT_FIELDS.items():
        if key not in UNPINNED_IN_CDK_JSON:
            assert CDK_JSON_CONTEXT[key] == getattr(DEFAULTS, field), key
    assert UNPINNED_IN_CDK_JSON.isdisjoint(CDK_JSON_CONTEXT)


def test_max_input_length_is_left_to_follow_max_total_tokens() -> None:
    """Not pinned in cdk.json, so lowering maxTotalTokens alone works; derived, it is the library's default."""
    assert "maxInputLength" not in CDK_JSON_CONTEXT
    assert StackConfig().input_length == DEFAULTS.max_total_tokens - 1 == DEFAULTS.max_input_length


def test_the_default_model_is_the_one_the_defaults_name() -> None:
    model = StackConfig().mistral_model()
    assert model == MistralModel.instruct()
    assert (model.model_id, model.prompt_format) == (DEFAULTS.model_id, DEFAULTS.prompt_format)


def test_the_proxy_reads_the_defaults_when_its_environment_is_silent() -> None:
    from mistral_endpoint._lambda.invoke_proxy.config import load_config

    config = load_config({"ENDPOINT_NAME": "e"})
    assert (config.max_input_length, config.max_total_tokens, config.default_max_new_tokens) == (
        DEFAULTS.max_input_length,
        DEFAULTS.max_total_tokens,
        DEFAULTS.default_max_new_tokens,
    )
    assert (config.model_id, config.prompt_format) == (DEFAULTS.model_id, DEFAULTS.prompt_format)


def test_the_local_dev_server_reads_the_defaults() -> None:
    args = build_parser().parse_args(["serve", "--endpoint-name", "e"])
    assert (args.max_input_length, args.max_total_tokens, args.default_max_new_tokens) == (
        DEFAULTS.max_input_length,
        DEFAULTS.max_total_tokens,
        DEFAULTS.default_max_new_tokens,
    )
    assert (args.model_id, args.prompt_format) == (DEFAULTS.model_id, DEFAULTS.prompt_format)


# Where the docs keep the props and context key tables (moved from the README in issue 15).
PROPS_PAGE = REPO / "docs" / "reference" / "props.md"


def docs_table_defaults(first_column: str, default_column: int) -> dict[str, str]:
    """The props page's tables whose header starts with ``first_column``: name -> its default cell."""
    rows: dict[str, str] = {}
    in_table = False
    for line in PROPS_PAGE.read_text().splitlines():
        if line.startswith(f"| {first_column} |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            in_table = False
        if in_table and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[default_column]
    assert rows, f"no table headed {first_column!r} in {PROPS_PAGE}"
    return rows


def as_markdown(value: object) -> str:
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def test_docs_context_table_states_the_defaults() -> None:
    table = docs_table_defaults("context key", 1)
    for key, field in CONTEXT_FIELDS.items():
        assert table[key] == as_markdown(getattr(DEFAULTS, field)), key


def test_docs_props_table_states_the_defaults() -> None:
    table = docs_table_defaults("prop", 2)
    prop_names = {
        "initial_instance_count",
        "max_total_tokens",
        "default_max_new_tokens",
        "max_capacity",
    }
    for prop in prop_names | {"instance_type", "proxy_memory_size"}:
        assert table[prop] == as_markdown(getattr(DEFAULTS, prop)), prop
    assert table["proxy_in_vpc"] == "`True`"
    assert table["scale_to_zero"] == "`False`"
    assert table["model"] == "`MistralModel.instruct()`"
    assert table["max_input_length"] == "`max_total_tokens` - 1"
    assert DEFAULTS.max_input_length == DEFAULTS.max_total_tokens - 1


def test_no_source_file_types_the_token_limits_again() -> None:
    """Docstrings may state a default (the CDK convention); code must read it from DEFAULTS."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    limits = {DEFAULTS.max_input_length, DEFAULTS.max_total_tokens}
    offenders = []
    for path in tracked:
        if path.startswith(("tests/", "scripts/")) or path == "lambda/invoke_proxy/contract.py":
            continue
        source = REPO / path
        if not source.exists():
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            is_literal = isinstance(node, ast.Constant) and type(node.value) is int and node.value in limits
            if is_literal or (isinstance(node, ast.Constant) and node.value in {str(n) for n in limits}):
                offenders.append(f"{path}:{node.lineno}")
    assert offenders == []
