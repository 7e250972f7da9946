"""The invoke proxy's token metrics, read with the names the proxy writes them under (``invoke_proxy/metrics.py``)."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch

from ._lambda import metrics as emf
from ._validation import ConfigurationError


class TokenMetrics:
    """The proxy's embedded-metric-format metrics (namespace ``MistralEndpoint``), for anything that knows
    the name of the endpoint the proxy calls. Dimensions: EndpointName and StatusClass (``2xx``, ``4xx``,
    ``5xx``), plus Route when ``route`` is given."""

    endpoint_name: str

    def proxy_metric(
        self, metric_name: str, *, status_class: str = "2xx", route: str | None = None, **props: Any
    ) -> cloudwatch.Metric:
        """One of the proxy's metrics, as it writes them (see ``invoke_proxy/metrics.py``).

        :param metric_name: e.g. ``GeneratedTokens``, ``TokensPerSecond``, ``MsPerToken``.
        :param status_class: ``2xx`` (default), ``4xx`` or ``5xx``.
        :param route: a route such as ``/generate``. Default: all routes together.
        :param props: any ``cloudwatch.MetricOptions`` field (``statistic``, ``period``, ``label``, ...).
        """
        if status_class not in emf.STATUS_CLASSES:
            raise ConfigurationError(
                f"status_class {status_class!r} is not one the proxy writes: use one of {', '.join(emf.STATUS_CLASSES)}"
            )
        dimensions = {emf.ENDPOINT_NAME: self.endpoint_name, emf.STATUS_CLASS: status_class}
        if route is not None:
            dimensions[emf.ROUTE] = route
        return cloudwatch.Metric(
            namespace=emf.NAMESPACE, metric_name=metric_name, dimensions_map=dimensions, **props
        )

    def metric_requests(self, **props: Any) -> cloudwatch.Metric:
        """Requests the proxy answered (health probes excluded). Default: sum over 5 minutes, 2xx."""
        return self.proxy_metric(emf.REQUESTS, **{"statistic": "Sum", **props})

    def metric_request_latency(self, **props: Any) -> cloudwatch.Metric:
        """RequestLatency (ms): the proxy's whole answer, validation to response. Default: p50, 2xx."""
        return self.proxy_metric(emf.REQUEST_LATENCY, **{"statistic": "p50", **props})

    def metric_input_tokens(self, **props: Any) -> cloudwatch.Metric:
        """InputTokens: prompt tokens, when TGI reports them (``decoder_input_details``). Default: sum, 2xx."""
        return self.proxy_metric(emf.INPUT_TOKENS, **{"statistic": "Sum", **props})

    def metric_generated_tokens(self, **props: Any) -> cloudwatch.Metric:
        """GeneratedTokens: tokens the model generated. Default: sum over 5 minutes, 2xx."""
        return self.proxy_metric(emf.GENERATED_TOKENS, **{"statistic": "Sum", **props})

    def metric_tokens_per_second(self, **props: Any) -> cloudwatch.Metric:
        """TokensPerSecond: one request's generated tokens over its model time. Default: p50, 2xx."""
        return self.proxy_metric(emf.TOKENS_PER_SECOND, **{"statistic": "p50", **props})

    def metric_ms_per_token(self, **props: Any) -> cloudwatch.Metric:
        """MsPerToken: one request's model time per generated token (the launch article's latency figure).
        Default: p50, 2xx."""
        return self.proxy_metric(emf.MS_PER_TOKEN, **{"statistic": "p50", **props})

    def metric_time_to_first_token(self, **props: Any) -> cloudwatch.Metric:
        """TimeToFirstToken (ms), for streamed requests. Default: p50, 2xx."""
        return self.proxy_metric(emf.TIME_TO_FIRST_TOKEN, **{"statistic": "p50", **props})

    def metric_model_scaling_up(self, **props: Any) -> cloudwatch.Metric:
        """ModelScalingUp: requests answered 503 while a scaled-to-zero model starts. Default: sum, 5xx."""
        return self.proxy_metric(emf.MODEL_SCALING_UP, **{"statistic": "Sum", "status_class": "5xx", **props})
