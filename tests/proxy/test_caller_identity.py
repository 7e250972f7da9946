"""Who called: every log line and metrics line names the IAM principal that signed the request, stably (the
role without its session, the user, or the account), and says ``unverified`` when no principal came with it."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.stub import Stubber
from proxy_helpers import CALLER, LambdaContext, make_config, queue_answer, tgi_answer, url_event
from web_adapter import invoke_streaming, read_streamed_response

from invoke_proxy import metrics
from invoke_proxy.config import ConfigError, load_config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.http_server import invocation, make_server
from invoke_proxy.identity import caller_name
from invoke_proxy.sagemaker import create_client
from mistral_client.function_url import rest_api_event
from mistral_client.standin import StandIn
from mistral_client.standin.scripts import tokens_script
from mistral_client.standin.server import proxy_app

OWNER = "123456789012"
OTHER = "210987654321"


def url_context(user_arn: str, owner: str = OWNER) -> dict[str, Any]:
    """A function URL's request context, signed by ``user_arn``."""
    return {
        "accountId": owner,
        "authorizer": {"iam": {"accountId": user_arn.split(":")[4], "userArn": user_arn}},
    }


@pytest.mark.parametrize(
    ("user_arn", "name"),
    [
        (f"arn:aws:sts::{OWNER}:assumed-role/app-role/i-0abc123", "role/app-role"),
        (
            f"arn:aws:sts::{OWNER}:assumed-role/AWSReservedSSO_Dev_0123abcd/jane@example.com",
            "role/AWSReservedSSO_Dev_0123abcd",
        ),
        (f"arn:aws:iam::{OWNER}:user/ci-bot", "user/ci-bot"),
        (f"arn:aws:iam::{OWNER}:user/teams/data/ci-bot", "user/ci-bot"),
        (f"arn:aws:sts::{OWNER}:federated-user/jane", "federated-user/jane"),
        (f"arn:aws:iam::{OWNER}:root", f"account/{OWNER}"),
        (f"arn:aws:sts::{OTHER}:assumed-role/their-app/session", f"account/{OTHER}"),
        (f"arn:aws:iam::{OTHER}:user/someone", f"account/{OTHER}"),
        (f"arn:aws-cn:sts::{OWNER}:assumed-role/app-role/s", "role/app-role"),
    ],
)
def test_a_function_url_caller_is_named_stably(user_arn: str, name: str) -> None:
    assert caller_name(url_context(user_arn)) == name


def test_the_session_name_never_reaches_the_name() -> None:
    first = caller_name(url_context(f"arn:aws:sts::{OWNER}:assumed-role/app-role/session-1"))
    second = caller_name(url_context(f"arn:aws:sts::{OWNER}:assumed-role/app-role/session-2"))
    assert first == second == "role/app-role"


def test_a_rest_api_caller_is_named_from_its_identity() -> None:
    event = rest_api_event("POST", "/chat", caller_arn=f"arn:aws:sts::{OWNER}:assumed-role/app-role/s")
    assert caller_name(event["requestContext"]) == "role/app-role"


def test_another_accounts_caller_through_the_private_door_is_named_by_its_account() -> None:
    event = rest_api_event("POST", "/chat", caller_arn=f"arn:aws:sts::{OTHER}:assumed-role/app-role/s")
    assert caller_name(event["requestContext"]) == f"account/{OTHER}"


@pytest.mark.parametrize(
    "context",
    [None, {}, {"accountId": OWNER}, {"authorizer": {}}, {"identity": {"userArn": None}}, {"identity": "x"}],
    ids=["none", "empty", "no-authorizer", "no-iam", "no-user-arn", "not-a-mapping"],
)
def test_a_request_without_a_principal_is_unverified(context: Any) -> None:
    assert caller_name(context) == "unverified"


def test_an_arn_of_an_unknown_form_is_named_by_its_account() -> None:
    assert caller_name(url_context(f"arn:aws:sts::{OWNER}:something-new/x")) == f"account/{OWNER}"


def test_a_name_with_characters_iam_refuses_is_named_by_its_account() -> None:
    assert caller_name(url_context(f"arn:aws:sts::{OWNER}:assumed-role/bad name/s")) == f"account/{OWNER}"


@pytest.mark.parametrize("header", [None, "", "not json", "[1, 2]"])
def test_a_missing_or_malformed_request_context_header_is_unverified(header: str | None) -> None:
    headers = {} if header is None else {"x-amzn-request-context": header}
    assert invocation(headers, trust_request_context=True).caller == "unverified"


# --- every line names it -----------------------------------------------------------------------------------


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage() == "request"]


def test_a_function_url_requests_log_and_metrics_lines_name_the_caller(
    proxy: Proxy, stubber: Stubber, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_answer(stubber, tgi_answer(generated_tokens=3))
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    (record,) = request_records(caplog)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert record.__dict__["caller"] == line["Caller"] == CALLER


def test_an_unsigned_function_url_request_is_logged_as_unverified(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        handle_event(proxy, url_event("GET", "/nowhere", caller_arn=None), LambdaContext())
    assert request_records(caplog)[0].__dict__["caller"] == "unverified"


def test_an_unexpected_failure_line_names_the_caller(
    proxy: Proxy, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("invoke_proxy.core.find", lambda route, method: broken)
    with caplog.at_level(logging.INFO, logger="invoke_proxy"):
        handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    callers = {record.getMessage(): record.__dict__.get("caller") for record in caplog.records}
    assert callers == {"unexpected failure": CALLER, "request": CALLER}


def test_a_streamed_requests_log_line_names_the_caller_from_the_adapters_header(
    sagemaker: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    sagemaker.stream(*tokens_script([" Hi"]))
    event = url_event(body={"inputs": "Hi", "stream": True})
    with proxy_app(make_config()) as url, caplog.at_level(logging.INFO, logger="invoke_proxy"):
        _, payload = read_streamed_response(invoke_streaming(int(urlsplit(url).port or 0), event))
        b"".join(payload)
    assert request_records(caplog)[0].__dict__["caller"] == CALLER


def test_serve_ignores_a_request_context_header_any_local_program_could_send(
    sagemaker: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config()
    server = make_server(Proxy(config, create_client(config)), "127.0.0.1", 0)  # as mistral-invoke serve
    threading.Thread(target=server.serve_forever, daemon=True).start()
    forged = json.dumps(url_event()["requestContext"])
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.server_address[1]}/health", headers={"x-amzn-request-context": forged}
    )
    try:
        with caplog.at_level(logging.INFO, logger="invoke_proxy"):
            urllib.request.urlopen(request, timeout=10).read()
    finally:
        server.shutdown()
        server.server_close()
    assert request_records(caplog)[0].__dict__["caller"] == "unverified"


# --- the per-caller metrics --------------------------------------------------------------------------------


def document(fields: dict[str, Any], caller_metrics: bool = True) -> dict[str, Any]:
    result = metrics.emf_document(
        fields, endpoint_name="e", routes=("/generate",), timestamp_ms=1, caller_metrics=caller_metrics
    )
    assert result is not None
    return result


def test_the_per_caller_directive_carries_only_the_usage_metrics() -> None:
    line = document(
        {
            "route": "/generate",
            "status": 200,
            "caller": "role/a",
            "latency_ms": 9,
            "prompt_tokens": 4,
            "completion_tokens": 8,
            "model_latency_ms": 80,
        }
    )
    per_caller = line["_aws"]["CloudWatchMetrics"][1]
    assert per_caller["Dimensions"] == [["EndpointName", "Caller", "StatusClass"]]
    assert [m["Name"] for m in per_caller["Metrics"]] == [
        "Requests",
        "InputTokens",
        "GeneratedTokens",
        "MsPerToken",
    ]
    assert (line["Caller"], line["MsPerToken"]) == ("role/a", 10.0)


def test_an_error_counts_for_its_caller_in_its_status_class() -> None:
    line = document({"route": "/generate", "status": 400, "caller": "role/a"})
    per_caller = line["_aws"]["CloudWatchMetrics"][1]
    assert ([m["Name"] for m in per_caller["Metrics"]], line["StatusClass"]) == (["Requests"], "4xx")


def test_caller_metrics_off_leaves_one_directive_without_the_caller_dimension() -> None:
    line = document({"route": "/generate", "status": 200, "caller": "role/a"}, caller_metrics=False)
    dimensions = [d for directive in line["_aws"]["CloudWatchMetrics"] for d in directive["Dimensions"]]
    assert all("Caller" not in dimension_set for dimension_set in dimensions)


def test_a_line_without_a_caller_is_measured_as_unverified() -> None:
    assert document({"route": "/generate", "status": 200})["Caller"] == "unverified"


@pytest.mark.parametrize(("raw", "expected"), [(None, True), ("false", False), ("true", True), ("0", False)])
def test_caller_metrics_come_from_the_environment(raw: str | None, expected: bool) -> None:
    env = {"ENDPOINT_NAME": "e"} | ({} if raw is None else {"CALLER_METRICS": raw})
    assert load_config(env).caller_metrics is expected


def test_a_bad_caller_metrics_value_fails_the_functions_init() -> None:
    with pytest.raises(ConfigError, match="CALLER_METRICS must be 'true' or 'false'"):
        load_config({"ENDPOINT_NAME": "e", "CALLER_METRICS": "sometimes"})


def test_the_proxy_writes_no_per_caller_directive_when_caller_metrics_are_off(
    stubber: Stubber, client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_answer(stubber, tgi_answer(generated_tokens=3))
    proxy = Proxy(make_config(CALLER_METRICS="false"), client)
    handle_event(proxy, url_event(body={"inputs": "Hi"}), LambdaContext())
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert len(line["_aws"]["CloudWatchMetrics"]) == 1
