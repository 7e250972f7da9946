"""The endpoint's CloudWatch dashboard: the launch article's two views first, then the model, then the proxy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ._lambda import metrics as emf
from .alarms import alarm_period

if TYPE_CHECKING:  # types only
    from .endpoint_metrics import EndpointMetrics
    from .proxy import InvokeProxy


def build_dashboard(
    scope: Construct,
    *,
    dashboard_name: str,
    endpoint: EndpointMetrics,
    proxy: InvokeProxy | None,
    alarms: Sequence[cloudwatch.IAlarm],
) -> cloudwatch.Dashboard:
    """One row per concern; the proxy's rows only when a proxy is watched."""
    dashboard = cloudwatch.Dashboard(
        scope, "Dashboard", dashboard_name=dashboard_name, default_interval=Duration.hours(3)
    )
    dashboard.add_widgets(
        cloudwatch.TextWidget(
            width=24,
            height=2,
            markdown=(
                f"# {endpoint.endpoint_name}\n"
                "Top row: the launch article's two views for your own traffic. Read throughput (tokens/s, all "
                "requests) and ms per token (p50) against the load on the right axis (requests in flight)."
            ),
        )
    )
    if proxy is not None:
        _add_article_row(dashboard, proxy)
    _add_model_row(dashboard, endpoint)
    if proxy is not None:
        _add_proxy_rows(dashboard, proxy)
        if proxy.caller_metrics:
            _add_caller_row(dashboard, proxy)
    if alarms:
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", width=24, height=4, alarms=list(alarms))
        )
    return dashboard


def _add_caller_row(dashboard: cloudwatch.Dashboard, proxy: InvokeProxy) -> None:
    """Generated tokens by caller: one line per role, user or account (the per-caller directive's metrics,
    found by a SEARCH expression, since the callers are not known at synth; CloudWatch User Guide, "Use search
    expressions in graphs"). Answered requests (2xx): what ``mistral-invoke usage`` shares the cost by."""
    schema = "{" + ",".join((emf.NAMESPACE, *emf.CALLER_DIMENSIONS)) + "}"
    query = (
        f'{schema} MetricName="{emf.GENERATED_TOKENS}" '
        f'{emf.ENDPOINT_NAME}="{proxy.endpoint_name}" {emf.STATUS_CLASS}="2xx"'
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Generated tokens by caller (answered requests, per 5 minutes)",
            width=24,
            left=[
                cloudwatch.MathExpression(
                    expression=f"SEARCH('{query}', 'Sum', 300)",
                    label="",
                    period=Duration.minutes(5),
                )
            ],
            stacked=True,
        )
    )


def _add_article_row(dashboard: cloudwatch.Dashboard, proxy: InvokeProxy) -> None:
    load = proxy.function.metric(
        "ConcurrentExecutions", statistic="Maximum", label="requests in flight", period=alarm_period()
    )
    generated = proxy.metric_generated_tokens(period=alarm_period())
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Throughput against load (tokens/s)",
            width=12,
            left=[
                cloudwatch.MathExpression(
                    expression="generated / PERIOD(generated)",
                    using_metrics={"generated": generated},
                    label="throughput (tokens/s)",
                    period=alarm_period(),
                )
            ],
            right=[load],
            left_y_axis=cloudwatch.YAxisProps(min=0, label="tokens/s", show_units=False),
            right_y_axis=cloudwatch.YAxisProps(min=0, label="concurrent requests", show_units=False),
        ),
        cloudwatch.GraphWidget(
            title="Latency per token against load (ms/token)",
            width=12,
            left=[
                proxy.metric_ms_per_token(label="ms/token p50", period=alarm_period()),
                proxy.metric_ms_per_token(statistic="p90", label="ms/token p90", period=alarm_period()),
            ],
            right=[load],
            left_y_axis=cloudwatch.YAxisProps(min=0, label="ms/token", show_units=False),
            right_y_axis=cloudwatch.YAxisProps(min=0, label="concurrent requests", show_units=False),
        ),
    )


def _add_model_row(dashboard: cloudwatch.Dashboard, endpoint: EndpointMetrics) -> None:
    latency = [
        cloudwatch.MathExpression(
            expression=f"latency{stat} / 1000",
            using_metrics={
                f"latency{stat}": endpoint.metric_model_latency(statistic=stat, period=alarm_period())
            },
            label=f"ModelLatency {stat} (ms)",
            period=alarm_period(),
        )
        for stat in ("p50", "p90", "p99")
    ]
    capacity = [
        endpoint.metric_gpu_utilization(
            statistic="SampleCount", label="GPU reports a minute (~ instances)", period=alarm_period()
        ),
        # What autoscaling tracks: requests in flight per instance (per copy in scale-to-zero mode).
        endpoint.metric_concurrent_requests(label="concurrent requests per instance (max)"),
    ]
    refusals = endpoint.wake_refusals(period=alarm_period())  # scale-to-zero mode: requests a wake refused
    if refusals is not None:
        capacity.append(refusals)
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Invocations and model errors",
            width=8,
            left=[
                endpoint.metric_invocations(period=alarm_period()),
                endpoint.metric_invocation4xx_errors(period=alarm_period()),
                endpoint.metric_invocation5xx_errors(period=alarm_period()),
            ],
        ),
        cloudwatch.GraphWidget(title="Model latency (ms)", width=8, left=latency),
        cloudwatch.GraphWidget(
            title="Instances reporting, GPU use",
            width=8,
            left=capacity,
            right=[
                endpoint.metric_gpu_utilization(label="GPUUtilization", period=alarm_period()),
                endpoint.metric_gpu_memory_utilization(label="GPUMemoryUtilization", period=alarm_period()),
            ],
            right_y_axis=cloudwatch.YAxisProps(min=0, label="%", show_units=False),
        ),
    )


def _add_proxy_rows(dashboard: cloudwatch.Dashboard, proxy: InvokeProxy) -> None:
    function = proxy.function
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Proxy duration (ms)",
            width=6,
            left=[
                function.metric_duration(statistic="p50", label="p50", period=alarm_period()),
                function.metric_duration(statistic="p99", label="p99", period=alarm_period()),
            ],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(
                    value=function.timeout.to_milliseconds() if function.timeout else 3000,
                    label="timeout",
                )
            ],
        ),
        cloudwatch.GraphWidget(
            title="Proxy errors and throttles",
            width=6,
            left=[
                function.metric_errors(statistic="Sum", period=alarm_period()),
                function.metric_throttles(statistic="Sum", period=alarm_period()),
            ],
        ),
        cloudwatch.GraphWidget(
            title="Proxy answers by status",
            width=6,
            left=[
                *(
                    proxy.metric_requests(status_class=c, label=c, period=alarm_period())
                    for c in emf.STATUS_CLASSES
                ),
                proxy.metric_model_scaling_up(label="503 model_scaling_up", period=alarm_period()),
            ],
            right=[
                function.metric(
                    "ConcurrentExecutions",
                    statistic="Maximum",
                    label="concurrency",
                    period=alarm_period(),
                )
            ],
        ),
        cloudwatch.GraphWidget(
            title="Tokens per request",
            width=6,
            left=[
                proxy.metric_generated_tokens(
                    statistic="Average", label="generated (avg)", period=alarm_period()
                ),
                proxy.metric_input_tokens(statistic="Average", label="input (avg)", period=alarm_period()),
            ],
        ),
    )
    _add_token_row(dashboard, proxy)


def _add_token_row(dashboard: cloudwatch.Dashboard, proxy: InvokeProxy) -> None:
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Tokens per second per request",
            width=8,
            left=[
                proxy.metric_tokens_per_second(label="p50", period=alarm_period()),
                proxy.metric_tokens_per_second(statistic="p10", label="p10 (slowest)", period=alarm_period()),
            ],
        ),
        cloudwatch.GraphWidget(
            title="Time to first token (ms, streamed)",
            width=8,
            left=[
                proxy.metric_time_to_first_token(label="p50", period=alarm_period()),
                proxy.metric_time_to_first_token(statistic="p90", label="p90", period=alarm_period()),
            ],
        ),
        cloudwatch.GraphWidget(
            title="Proxy request latency (ms)",
            width=8,
            left=[
                proxy.metric_request_latency(label="p50", period=alarm_period()),
                proxy.metric_request_latency(statistic="p90", label="p90", period=alarm_period()),
            ],
        ),
    )
