"""Benchmark the invoke proxy against a bare ``invoke_endpoint`` passthrough handler, measured in the same run.

Not a test: run on demand (``.venv/bin/python scripts/bench_proxy.py``). Prints medians and ratios.

- Cold start: importing the handler module, which builds the configuration and the SageMaker runtime client,
  timed inside fresh interpreters (interpreter start-up excluded: it is the same for both), alternating bare
  and proxy runs so drift hits both alike. As in Lambda, whose asset ships no .pyc files and whose /var/task is
  read-only, the handlers run from a copy without bytecode caches and compile their sources at every start
  (boto3 and botocore keep their installed bytecode, as in the runtime). Target: proxy median at most 1.2x
  the bare median.
- Warm overhead: one process, both handlers, the endpoint stubbed identically at botocore's HTTP seam
  (``before-send`` returns the same canned TGI answer), so botocore serialization, signing and parsing run for
  both and the endpoint's own time is excluded. The proxy logs its JSON line to /dev/null, as Lambda would
  format it, and writes its EMF line (stdout) to /dev/null too: the cost of writing both is measured, the
  output is not printed. Target: proxy median at most 1 ms above the bare median.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_ROOT = ROOT / "lambda"  # the Lambda asset: handler string invoke_proxy.handler.handler

BARE_HANDLER = """
import os

import boto3

client = boto3.client("sagemaker-runtime")
ENDPOINT_NAME = os.environ["ENDPOINT_NAME"]


def handler(event, context):
    response = client.invoke_endpoint(
        EndpointName=ENDPOINT_NAME, ContentType="application/json", Accept="application/json", Body=event["body"]
    )
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": response["Body"].read().decode()}
"""

ENV = {
    "ENDPOINT_NAME": "bench-endpoint",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

COLD_PROBE = """
import importlib, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
importlib.import_module(sys.argv[2])
print(time.perf_counter() - started)
"""


def tgi_answer(tokens: int) -> bytes:
    """What TGI 1.1 answers with details: true for a generation of ``tokens`` tokens."""
    return json.dumps(
        [
            {
                "generated_text": "word " * tokens,
                "details": {
                    "finish_reason": "length",
                    "generated_tokens": tokens,
                    "seed": None,
                    "prefill": [],
                    "tokens": [
                        {"id": 1000 + i, "text": " word", "logprob": -0.25, "special": False}
                        for i in range(tokens)
                    ],
                },
            }
        ]
    ).encode()


def cold_start(bare_dir: str, runs: int) -> tuple[list[float], list[float]]:
    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        | ENV
        | {"PYTHONDONTWRITEBYTECODE": "1"}
    )
    asset = Path(bare_dir, "asset")
    shutil.copytree(LAMBDA_ROOT, asset, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    cases = {"bare": (bare_dir, "bare_handler"), "proxy": (str(asset), "invoke_proxy.handler")}
    timings: dict[str, list[float]] = {"bare": [], "proxy": []}
    for run in range(runs + 1):
        for name, (path, module) in cases.items():
            result = subprocess.run(
                [sys.executable, "-c", COLD_PROBE, path, module],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            if run:  # the first round only warms the file system caches
                timings[name].append(float(result.stdout) * 1000)
    return timings["bare"], timings["proxy"]


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.read()


def stub_http(client: Any, answer: bytes) -> None:
    from botocore.awsrequest import AWSResponse

    def send(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, _Raw(answer))

    client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", send)


class Context:
    aws_request_id = "bench-request"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def warm_overhead(bare_dir: str, requests: int, tokens: int) -> tuple[list[float], list[float]]:
    os.environ.update(ENV)
    sys.path[:0] = [bare_dir, str(LAMBDA_ROOT)]
    bare = importlib.import_module("bare_handler")
    proxy = importlib.import_module("invoke_proxy.handler")
    from invoke_proxy.json_logs import JsonLogFormatter
    from mistral_client.function_url import url_event

    sink = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    sink.setFormatter(JsonLogFormatter())
    logging.getLogger().addHandler(sink)

    answer = tgi_answer(tokens)
    stub_http(bare.client, answer)
    stub_http(proxy.PROXY.client, answer)
    body = json.dumps(
        {"inputs": "Tell me about the Mistral wind. " * 20, "parameters": {"max_new_tokens": tokens}}
    )
    event, context = url_event("POST", "/generate", body=body), Context()
    timings: dict[Any, list[float]] = {bare.handler: [], proxy.handler: []}
    # The proxy's EMF line goes to sys.stdout, looked up at each write: to /dev/null, as its log line.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for handler in (bare.handler, proxy.handler):  # warm both paths (botocore caches, first-call work)
            for _ in range(50):
                assert handler(event, context)["statusCode"] == 200
        for _ in range(requests):
            for handler, samples in timings.items():
                started = time.perf_counter_ns()
                handler(event, context)
                samples.append((time.perf_counter_ns() - started) / 1e6)
    return timings[bare.handler], timings[proxy.handler]


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    return f"median {statistics.median(ordered):8.3f} ms   p90 {p90:8.3f} ms   (n={len(ordered)})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cold-runs", type=int, default=40, help="fresh interpreters per handler (default 40)"
    )
    parser.add_argument("--requests", type=int, default=3000, help="warm requests per handler (default 3000)")
    parser.add_argument("--tokens", type=int, default=128, help="generated tokens in the canned answer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as bare_dir:
        Path(bare_dir, "bare_handler.py").write_text(BARE_HANDLER)
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; bare handler = boto3 invoke_endpoint passthrough"
        )
        bare_cold, proxy_cold = cold_start(bare_dir, args.cold_runs)
        print("\nCold start: import + config + SageMaker client, in fresh interpreters")
        print(f"  bare   {describe(bare_cold)}")
        print(f"  proxy  {describe(proxy_cold)}")
        ratio = statistics.median(proxy_cold) / statistics.median(bare_cold)
        print(
            f"  ratio proxy/bare (medians): {ratio:.3f}   target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'}"
        )

        bare_warm, proxy_warm = warm_overhead(bare_dir, args.requests, args.tokens)
        print(
            f"\nWarm request: endpoint stubbed at botocore's HTTP layer, {args.tokens}-token TGI answer with details"
        )
        print(f"  bare   {describe(bare_warm)}")
        print(f"  proxy  {describe(proxy_warm)}")
        overhead = statistics.median(proxy_warm) - statistics.median(bare_warm)
        print(
            f"  proxy overhead (difference of medians): {overhead:.3f} ms   "
            f"ratio {statistics.median(proxy_warm) / statistics.median(bare_warm):.3f}   "
            f"target <= 1 ms: {'met' if overhead <= 1 else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
