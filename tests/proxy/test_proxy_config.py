"""The function's configuration: read once at import, validated, refused with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from invoke_proxy.config import ConfigError, load_config

BASE = {"ENDPOINT_NAME": "ep"}


def test_defaults_follow_the_jumpstart_container() -> None:
    config = load_config(BASE)
    assert (config.max_input_length, config.max_total_tokens) == (8191, 8192)
    assert config.default_max_new_tokens == 512
    assert config.prompt_format == "mistral-instruct"
    assert config.log_prompts is False


def test_values_are_read_from_the_environment() -> None:
    config = load_config(
        {
            **BASE,
            "MAX_INPUT_LENGTH": "2047",
            "MAX_TOTAL_TOKENS": "2048",
            "DEFAULT_MAX_NEW_TOKENS": "100",
            "MODEL_ID": "huggingface-llm-mistral-7b",
            "PROMPT_FORMAT": "none",
            "LOG_PROMPTS": "true",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert (config.max_input_length, config.max_total_tokens, config.default_max_new_tokens) == (
        2047,
        2048,
        100,
    )
    assert (config.model_id, config.prompt_format, config.region) == (
        "huggingface-llm-mistral-7b",
        "none",
        "eu-west-1",
    )
    assert config.log_prompts is True


def test_config_is_frozen() -> None:
    config = load_config(BASE)
    with pytest.raises(AttributeError):
        config.endpoint_name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "ENDPOINT_NAME is required"),
        ({**BASE, "MAX_TOTAL_TOKENS": "lots"}, "MAX_TOTAL_TOKENS must be a positive integer, got 'lots'"),
        ({**BASE, "MAX_INPUT_LENGTH": "0"}, "MAX_INPUT_LENGTH must be a positive integer"),
        (
            {**BASE, "MAX_INPUT_LENGTH": "8192"},
            "MAX_INPUT_LENGTH (8192) must be below MAX_TOTAL_TOKENS (8192)",
        ),
        ({**BASE, "DEFAULT_MAX_NEW_TOKENS": "9000"}, "DEFAULT_MAX_NEW_TOKENS (9000) must be below"),
        ({**BASE, "PROMPT_FORMAT": "chatml"}, "PROMPT_FORMAT must be one of mistral-instruct, none"),
        ({**BASE, "LOG_PROMPTS": "maybe"}, "LOG_PROMPTS must be 'true' or 'false'"),
        ({**BASE, "MAX_TOTAL_TOKENS": " "}, "MAX_TOTAL_TOKENS is required"),
        ({**BASE, "MODEL_ID": ""}, "MODEL_ID must not be empty"),
    ],
)
def test_misconfiguration_is_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(env)


def import_handler(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("ENDPOINT_NAME", "MAX_TOTAL_TOKENS")}
    return subprocess.run(
        [sys.executable, "-c", "import invoke_proxy.handler as h; print(h.CONFIG)"],
        env={**clean, "AWS_DEFAULT_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_handler_module_fails_at_import_when_misconfigured() -> None:
    result = import_handler({"MAX_TOTAL_TOKENS": "x"})
    assert result.returncode != 0
    assert "ENDPOINT_NAME is required" in result.stderr


def test_the_handler_module_builds_its_config_and_client_at_import() -> None:
    result = import_handler({"ENDPOINT_NAME": "ep"})
    assert result.returncode == 0, result.stderr
    assert "endpoint_name='ep'" in result.stdout


def test_the_lambda_entry_point_answers_a_function_url_event(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import json

    from proxy_helpers import LambdaContext, url_event

    name = "invoke_proxy.handler"
    monkeypatch.setenv("ENDPOINT_NAME", "entry-point-ep")
    monkeypatch.delitem(sys.modules, name, raising=False)
    try:
        module = importlib.import_module(name)
        result = module.handler(url_event("GET", "/health"), LambdaContext())
    finally:
        sys.modules.pop(name, None)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["endpoint_name"] == "entry-point-ep"
