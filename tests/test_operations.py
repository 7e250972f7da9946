"""Operations: the alarms (metric, threshold, missing data), their topic, the dashboard, and the construct API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from constructs import Construct
from synth_helpers import OWN_ALARM_TOPIC, REPO, new_app, only, resources_of, template_of

from mistral_endpoint import (
    DEFAULTS,
    AlarmSettings,
    ConfigurationError,
    MistralEndpoint,
    MistralModelEndpoint,
)
from mistral_endpoint._lambda.invoke_proxy import metrics as emf
from mistral_endpoint.operations import MistralMonitoring, name_prefix
from stacks.config import StackConfig

DEFAULT_ALARMS = {
    "ModelLatencyP90",
    "Invocation5XXErrors",
    "Invocation4XXErrorRate",
    "GPUMemoryUtilization",
    "NoHealthyCapacity",
    "ProxyErrors",
    "ProxyThrottles",
    "ProxyDurationP99",
    "ProxyServerErrorRate",
    "MsPerTokenP90",
}


def alarms_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Alarm short name (``ModelLatencyP90``) -> its properties (the monitoring's: autoscaling's own step
    scaling alarm has no name)."""
    found = {}
    for resource in resources_of(template, "AWS::CloudWatch::Alarm").values():
        properties = resource["Properties"]
        if "AlarmName" not in properties:
            continue
        found[properties["AlarmName"].rsplit("-", 1)[1]] = properties
    return found


def metric_of(alarm: dict[str, Any]) -> tuple[str, str, str]:
    return alarm["Namespace"], alarm["MetricName"], alarm.get("ExtendedStatistic", alarm.get("Statistic"))


def expression_of(alarm: dict[str, Any]) -> str:
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    return expression  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return alarms_of(template)


def test_the_default_stack_has_the_ten_instance_mode_alarms(alarms: dict[str, dict[str, Any]]) -> None:
    assert set(alarms) == DEFAULT_ALARMS


def test_every_alarm_is_named_after_the_stack_and_evaluated_each_minute(
    alarms: dict[str, dict[str, Any]],
) -> None:
    for name, alarm in alarms.items():
        assert alarm["AlarmName"] == f"MistralEndpointStack-Mistral-{name}"
        periods = (
            [alarm.get("Period")]
            if "Period" in alarm
            else [m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m]
        )
        assert set(periods) == {60}, name
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == DEFAULTS.alarms[name][1], name


def test_model_latency_p90_alarms_above_45_seconds_in_microseconds(alarms: dict[str, dict[str, Any]]) -> None:
    alarm = alarms["ModelLatencyP90"]
    assert metric_of(alarm) == ("AWS/SageMaker", "ModelLatency", "p90")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (45_000_000, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_rollback_latency_alarm_is_time_per_generated_token_not_whole_answers(
    alarms: dict[str, dict[str, Any]],
) -> None:
    """A long healthy stream takes minutes in all, but not more time per token: only a slower model trips it."""
    alarm = alarms["MsPerTokenP90"]
    assert metric_of(alarm) == ("MistralEndpoint", "MsPerToken", "p90")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]}["StatusClass"] == "2xx"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (500, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_invocation_5xx_alarms_on_any_error_two_minutes_running(alarms: dict[str, dict[str, Any]]) -> None:
    alarm = alarms["Invocation5XXErrors"]
    assert metric_of(alarm) == ("AWS/SageMaker", "Invocation5XXErrors", "Sum")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_4xx_alarm_is_a_rate_of_invocations(alarms: dict[str, dict[str, Any]]) -> None:
    alarm = alarms["Invocation4XXErrorRate"]
    assert expression_of(alarm) == "IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)"
    names = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"errors": "Invocation4XXErrors", "invocations": "Invocations"}
    assert (alarm["Threshold"], alarm["TreatMissingData"]) == (5, "notBreaching")


def test_gpu_memory_alarms_on_the_fullest_gpu(alarms: dict[str, dict[str, Any]]) -> None:
    alarm = alarms["GPUMemoryUtilization"]
    assert metric_of(alarm) == ("/aws/sagemaker/Endpoints", "GPUMemoryUtilization", "Maximum")
    assert (alarm["Threshold"], alarm["TreatMissingData"]) == (95, "notBreaching")


def test_no_healthy_capacity_treats_silence_from_the_gpus_as_an_outage(
    template: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    alarm = alarms["NoHealthyCapacity"]
    assert metric_of(alarm) == ("/aws/sagemaker/Endpoints", "GPUMemoryUtilization", "Maximum")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (10, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "breaching"
    # Created once CloudFormation has the endpoint InService: a fleet still booting is not an outage.
    (logical_id,) = [
        k
        for k, v in resources_of(template, "AWS::CloudWatch::Alarm").items()
        if v["Properties"]["AlarmName"].endswith("-NoHealthyCapacity")
    ]
    endpoint_id = next(iter(resources_of(template, "AWS::SageMaker::Endpoint")))
    assert endpoint_id in template["Resources"][logical_id]["DependsOn"]


def test_the_endpoint_is_created_after_its_rollback_alarms(template: dict[str, Any]) -> None:
    endpoint = next(iter(resources_of(template, "AWS::SageMaker::Endpoint").values()))
    names = {
        template["Resources"][d]["Properties"]["AlarmName"]
        for d in endpoint["DependsOn"]
        if template["Resources"][d]["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert names == {
        "MistralEndpointStack-Mistral-Invocation5XXErrors",
        "MistralEndpointStack-Mistral-MsPerTokenP90",
    }


def test_proxy_alarms_watch_errors_throttles_and_duration_near_the_timeout(
    alarms: dict[str, dict[str, Any]],
) -> None:
    assert metric_of(alarms["ProxyErrors"]) == ("AWS/Lambda", "Errors", "Sum")
    assert metric_of(alarms["ProxyThrottles"]) == ("AWS/Lambda", "Throttles", "Sum")
    duration = alarms["ProxyDurationP99"]
    assert metric_of(duration) == ("AWS/Lambda", "Duration", "p99")
    assert duration["Threshold"] == 240_000  # 80% of the streaming proxy's 300 s timeout, in ms
    assert all(alarms[n]["TreatMissingData"] == "notBreaching" for n in ("ProxyErrors", "ProxyThrottles"))


def test_the_proxy_5xx_rate_reads_the_emf_metrics_and_leaves_out_wake_ups(
    alarms: dict[str, dict[str, Any]],
) -> None:
    alarm = alarms["ProxyServerErrorRate"]
    assert "100 * (FILL(r5, 0) - FILL(wake, 0))" in expression_of(alarm)
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert {m["Namespace"] for m in stats.values()} == {emf.NAMESPACE}
    dimensions = {key: {d["Name"]: d["Value"] for d in m["Dimensions"]} for key, m in stats.items()}
    assert {key: d[emf.STATUS_CLASS] for key, d in dimensions.items()} == {
        "r2": "2xx",
        "r4": "4xx",
        "r5": "5xx",
        "wake": "5xx",
    }
    assert (stats["r5"]["MetricName"], stats["wake"]["MetricName"]) == (emf.REQUESTS, emf.MODEL_SCALING_UP)
    assert set(dimensions["r5"]) == {emf.ENDPOINT_NAME, emf.STATUS_CLASS}


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(
    template: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    topic_id = next(iter(resources_of(template, "AWS::SNS::Topic")))
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}], name


def test_the_new_topic_is_kms_encrypted_with_rotation_and_refuses_plain_http(
    template: dict[str, Any],
) -> None:
    topic = only(template, "AWS::SNS::Topic")["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    key_statements = key["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in key_statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    statements = only(template, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert (
        allow[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        and allow[0]["Action"] == "sns:Publish"
    )


def test_one_dashboard_named_after_the_stack_with_the_articles_views(template: dict[str, Any]) -> None:
    dashboard = only(template, "AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == "MistralEndpointStack-Mistral"
    body = json.dumps(dashboard["DashboardBody"])
    for title in (
        "Throughput against load (tokens/s)",
        "Latency per token against load (ms/token)",
        "Invocations and model errors",
        "Model latency (ms)",
        "Instances reporting, GPU use",
        "Proxy duration (ms)",
        "Proxy errors and throttles",
        "Time to first token (ms, streamed)",
        "Tokens per second per request",
        "Alarms",
    ):
        assert title in body, title
    for metric in (emf.GENERATED_TOKENS, emf.MS_PER_TOKEN, emf.TIME_TO_FIRST_TOKEN, emf.TOKENS_PER_SECOND):
        assert metric in body, metric
    assert "generated / PERIOD(generated)" in body  # throughput: tokens of all requests per second


def test_the_stack_outputs_the_dashboard_and_the_topic(template: dict[str, Any]) -> None:
    assert {"DashboardUrl", "AlarmTopicArn"} <= set(template["Outputs"])


def test_custom_settings_change_only_the_alarms_they_name() -> None:
    alarms = alarms_of(template_of("monitoring_customised"))
    assert set(alarms) == DEFAULT_ALARMS - {"ProxyThrottles"}
    latency = alarms["ModelLatencyP90"]
    assert (latency["Threshold"], latency["EvaluationPeriods"], latency["DatapointsToAlarm"]) == (
        30_000_000,
        3,
        3,
    )
    assert (
        alarms["ProxyServerErrorRate"]["Threshold"],
        alarms["ProxyServerErrorRate"]["EvaluationPeriods"],
    ) == (1, 10)
    assert alarms["GPUMemoryUtilization"]["Threshold"] == 95


def test_your_own_topic_gets_the_notifications_and_no_key_or_topic_is_made() -> None:
    template = template_of("monitoring_customised")
    assert resources_of(template, "AWS::SNS::Topic") == {} and resources_of(template, "AWS::KMS::Key") == {}
    for alarm in alarms_of(template).values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [OWN_ALARM_TOPIC]
    subscription = only(template, "AWS::SNS::Subscription")["Properties"]
    assert subscription == {
        "Protocol": "email",
        "TopicArn": OWN_ALARM_TOPIC,
        "Endpoint": "oncall@example.com",
    }


def test_monitoring_off_makes_no_alarm_topic_or_dashboard() -> None:
    template = template_of("monitoring_off")
    for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::SNS::Topic", "AWS::KMS::Key"):
        assert resources_of(template, kind) == {}, kind
    assert "DashboardUrl" not in template["Outputs"]


def test_the_app_reads_monitoring_and_alarm_email_from_context() -> None:
    assert StackConfig.from_context(new_app(monitoring="false").node).monitoring is False
    config = StackConfig.from_context(new_app(alarmEmail="ops@example.com").node)
    assert (config.monitoring, config.alarm_email) == (True, "ops@example.com")
    assert StackConfig().monitoring is DEFAULTS.monitoring is True


def test_the_construct_exposes_alarms_dashboard_topic_and_token_metrics() -> None:
    stack = cdk.Stack(new_app(), "S")
    mistral = MistralEndpoint(stack, "Mistral")
    assert set(mistral.alarms) == DEFAULT_ALARMS
    assert mistral.dashboard is not None and mistral.alarm_topic is not None
    assert [a.alarm_name for a in mistral.rollback_alarms] == [
        "S-Mistral-Invocation5XXErrors",
        "S-Mistral-MsPerTokenP90",
    ]
    for owner in (mistral, mistral.proxy):
        metric = owner.metric_ms_per_token()
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            "MistralEndpoint",
            "MsPerToken",
            "p50",
        )
        assert stack.resolve(metric.dimensions) == {
            "EndpointName": mistral.endpoint_name,
            "StatusClass": "2xx",
        }
    assert owner.metric_time_to_first_token(route="/chat").dimensions["Route"] == "/chat"  # type: ignore[index]
    assert mistral.metric_generated_tokens().statistic == "Sum"
    assert mistral.metric_tokens_per_second(status_class="5xx").dimensions["StatusClass"] == "5xx"  # type: ignore[index]


def test_an_unknown_alarm_name_is_refused_with_the_names_it_knows() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError, match=r"'ModelLatencyP99'.*use one of ModelLatencyP90"):
        MistralEndpoint(stack, "Mistral", alarm_settings={"ModelLatencyP99": AlarmSettings(30, 3)})


def test_evaluation_periods_must_be_whole_minutes() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(
        ConfigurationError, match=r"evaluation_periods must be a whole number of minutes.*got 0"
    ):
        MistralEndpoint(stack, "Mistral", alarm_settings={"ProxyErrors": AlarmSettings(1, 0)})


def test_alarm_props_without_monitoring_are_refused() -> None:
    stack = cdk.Stack(new_app(), "S")
    topic = sns.Topic.from_topic_arn(stack, "T", OWN_ALARM_TOPIC)
    with pytest.raises(ConfigurationError, match="keep monitoring=True"):
        MistralEndpoint(stack, "Mistral", monitoring=False, alarm_topic=topic)


def test_a_bad_email_or_dashboard_name_is_refused() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError, match="not an email address"):
        MistralEndpoint(stack, "Mistral", alarm_email="oncall")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Imported", endpoint_name="e")
    with pytest.raises(ConfigurationError, match="not a valid CloudWatch dashboard name"):
        MistralMonitoring(stack, "Monitoring", endpoint=endpoint, dashboard_name="my dashboard")


def test_dashboard_and_alarm_names_keep_to_the_characters_cloudwatch_allows() -> None:
    stack = cdk.Stack(new_app(), "Team-Stack")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Imported", endpoint_name="e")
    monitoring = MistralMonitoring(Construct(stack, "Ops.v2 (eu)"), "Monitoring", endpoint=endpoint)
    assert monitoring.dashboard_name == "Team-Stack-Ops-v2--eu-"
    assert name_prefix(stack) == "Team-Stack"


def test_an_imported_endpoint_without_a_proxy_gets_the_endpoint_alarms_only() -> None:
    stack = cdk.Stack(new_app(), "S")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Imported", endpoint_name="e")
    monitoring = MistralMonitoring(stack, "Monitoring", endpoint=endpoint)
    proxy_alarms = {n for n in DEFAULT_ALARMS if n.startswith("Proxy")} | {"MsPerTokenP90"}
    assert set(monitoring.alarms) == DEFAULT_ALARMS - proxy_alarms


def test_scale_to_zero_mode_alarms_on_wake_ups_that_do_not_complete_instead_of_silent_gpus() -> None:
    """At zero instances no GPU reports, and that is the mode working: wake-ups that never finish are the outage."""
    alarms = alarms_of(template_of("scale_to_zero"))
    assert set(alarms) == DEFAULT_ALARMS - {"NoHealthyCapacity"} | {"WakeUpNotCompleting"}
    wake = alarms["WakeUpNotCompleting"]
    assert metric_of(wake) == ("AWS/SageMaker", "NoCapacityInvocationFailures", "Sum")
    assert [d["Name"] for d in wake["Dimensions"]] == ["InferenceComponentName"]
    assert (wake["Threshold"], wake["EvaluationPeriods"], wake["TreatMissingData"]) == (1, 20, "notBreaching")
    # A wake refuses requests for minutes: the 4xx rate leaves those refusals to WakeUpNotCompleting.
    assert "FILL(nocapacity, 0)" in expression_of(alarms["Invocation4XXErrorRate"])
    assert {d["Name"] for d in alarms["ModelLatencyP90"]["Dimensions"]} == {"InferenceComponentName"}


def test_updates_roll_back_on_the_5xx_and_per_token_latency_alarms_in_both_modes() -> None:
    expected = [
        "MistralEndpointStack-Mistral-Invocation5XXErrors",
        "MistralEndpointStack-Mistral-MsPerTokenP90",
    ]
    endpoint = only(template_of("default"), "AWS::SageMaker::Endpoint")["Properties"]
    rollback = endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert [a["AlarmName"] for a in rollback] == expected
    component = only(template_of("scale_to_zero"), "AWS::SageMaker::InferenceComponent")["Properties"]
    rollback = component["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert [a["AlarmName"] for a in rollback] == expected


def test_monitoring_off_leaves_the_update_without_rollback_alarms() -> None:
    endpoint = only(template_of("monitoring_off"), "AWS::SageMaker::Endpoint")["Properties"]
    assert "Alarms" not in json.dumps(endpoint.get("DeploymentConfig", {}))


# The operators' page that holds the alarm table and the dashboard picture (moved from the README in issue 15).
MONITORING_PAGE = REPO / "docs" / "operate" / "monitoring.md"


def test_the_docs_alarm_table_states_the_defaults() -> None:
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in MONITORING_PAGE.read_text().splitlines():
        if line.startswith("| alarm | threshold | periods |"):
            in_table = True
        elif in_table and not line.startswith("|"):
            break
        elif in_table and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    assert set(rows) == set(DEFAULTS.alarms)
    for name, (threshold, periods) in DEFAULTS.alarms.items():
        assert rows[name][1].split("`")[1] == f"{threshold:g}", name
        assert rows[name][2] == f"`{periods}`", name
        assert rows[name][3].replace("*", "") == (
            "breaching" if name == "NoHealthyCapacity" else "not breaching"
        )


def test_the_layout_renderer_draws_every_widget_of_a_dashboard_body(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "render_dashboard", REPO / "scripts" / "render_dashboard.py"
    )
    assert spec is not None and spec.loader is not None
    renderer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(renderer)
    graph = {
        "type": "metric",
        "x": 0,
        "y": 2,
        "width": 12,
        "height": 6,
        "properties": {
            "title": "Throughput",
            "metrics": [
                [{"expression": "g / PERIOD(g)", "label": "tokens/s"}],
                ["MistralEndpoint", "GeneratedTokens", {"id": "g", "visible": False}],
                ["AWS/Lambda", "ConcurrentExecutions", {"label": "in flight", "yAxis": "right"}],
            ],
        },
    }
    assert renderer.series_labels(graph) == [("tokens/s", False), ("in flight", True)]
    body = {
        "widgets": [
            {
                "type": "text",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 2,
                "properties": {"markdown": "# e\nread me"},
            },
            graph,
        ]
    }
    renderer.render(body, tmp_path / "d.png")
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")
    assert (REPO / "docs" / "dashboard.png").exists() and "](../dashboard.png)" in MONITORING_PAGE.read_text()
