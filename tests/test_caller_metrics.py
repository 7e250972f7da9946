"""The caller dimension in the stack: on by default (the proxy's environment says so and the dashboard graphs
generated tokens by caller), off with ``-c callerMetrics=false``; a non-boolean prop is refused at synth."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from synth_helpers import only, template_of

from mistral_endpoint import ConfigurationError, MistralEndpoint
from mistral_endpoint.props import ProxyOptions


def proxy_environment(template: dict[str, Any]) -> dict[str, str]:
    function = next(
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and "ENDPOINT_NAME" in resource["Properties"].get("Environment", {}).get("Variables", {})
    )
    return function["Properties"]["Environment"]["Variables"]


def dashboard_body(template: dict[str, Any]) -> str:
    return json.dumps(only(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])


def test_the_proxy_writes_caller_metrics_by_default() -> None:
    assert proxy_environment(template_of("default"))["CALLER_METRICS"] == "true"


def test_the_dashboard_graphs_generated_tokens_by_caller() -> None:
    body = dashboard_body(template_of("default"))
    assert "Generated tokens by caller" in body
    assert "SEARCH('{MistralEndpoint,EndpointName,Caller,StatusClass} MetricName=" in body


def test_caller_metrics_off_turns_the_dimension_and_its_graph_off() -> None:
    template = template_of("caller_metrics_off")
    assert proxy_environment(template)["CALLER_METRICS"] == "false"
    assert "Caller" not in dashboard_body(template)


def test_the_streaming_function_ignores_the_rest_api_stage_in_paths() -> None:
    assert proxy_environment(template_of("default"))["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"] == "true"


def test_a_caller_metrics_prop_that_is_not_a_boolean_is_refused() -> None:
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(region="eu-west-1"))
    with pytest.raises(ConfigurationError, match="caller_metrics"):
        MistralEndpoint(stack, "M", proxy_options=ProxyOptions(caller_metrics="no"))  # type: ignore[arg-type]
