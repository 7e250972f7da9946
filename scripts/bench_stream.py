"""Benchmark the streaming transport: what it adds between TGI's tokens and the caller, and its cold start.

Not a test: run on demand (``.venv/bin/python scripts/bench_stream.py``). Prints medians and ratios.

- Token latency: a loopback stand-in SageMaker runtime (real event-stream framing, ``mistral_client.eventstream``,
  one PayloadPart per token) emits a token every 30 ms; the proxy's HTTP app runs as the streaming function runs
  it (``lambda/run.sh`` in its own process, boto3 pointed at the stand-in with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME);
  the caller reads the server-sent events over HTTP. For every token, the time from the stand-in writing it to
  the caller holding the whole event (``perf_counter``: CLOCK_MONOTONIC, one clock for every process). Reported:
  the median over the requests of the first token's latency (target under 20 ms), and the median latency of the
  other tokens through the proxy minus the same median for a bare botocore client reading the stand-in directly
  (the added latency per token; target under 2 ms).
- Cold start: fresh processes from a copy of the asset without bytecode caches (as Lambda ships it), alternating
  the two functions. Buffered: a fresh interpreter importing ``invoke_proxy.handler`` (configuration and client),
  timed from spawn until it reports the import done (Lambda's runtime would then take the first event).
  Streaming: ``run.sh`` spawned, timed until the app answers the readiness check (``GET /health``, polled every
  millisecond, as the Web Adapter polls it). Both include interpreter start-up; neither includes Lambda's own
  environment set-up, nor the Web Adapter's start (a Rust binary, before run.sh).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# The buffered benchmark beside this file: the same asset, dummy-credential environment and summary line.
from bench_proxy import ENV as BUFFERED_ENV
from bench_proxy import LAMBDA_ROOT, ROOT, describe

sys.path.insert(0, str(ROOT / "client"))

from mistral_client import eventstream  # after the path to the source tree

ENV = BUFFERED_ENV | {"AWS_LAMBDA_LOG_LEVEL": "WARNING"}  # the request log lines would only load the pipe


class StandIn(ThreadingHTTPServer):
    """InvokeEndpointWithResponseStream: ``tokens`` TGI events, one every ``interval`` s; notes each send time."""

    daemon_threads = True

    def __init__(self, tokens: int, interval: float) -> None:
        super().__init__(("127.0.0.1", 0), _StandInHandler)
        self.tokens, self.interval = tokens, interval
        self.sent: list[float] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandIn

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.send_response(200)
        self.send_header("Content-Type", eventstream.CONTENT_TYPE)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.server.sent = []
        tokens = self.server.tokens
        deadline = time.perf_counter()
        for index in range(1, tokens + 1):
            deadline += self.server.interval
            time.sleep(max(0.0, deadline - time.perf_counter()))
            event: dict[str, Any] = {
                "token": {"id": index, "text": " word", "logprob": -0.25, "special": False},
                "generated_text": " word" * tokens if index == tokens else None,
                "details": {"finish_reason": "length", "generated_tokens": tokens, "seed": None}
                if index == tokens
                else None,
            }
            part = eventstream.payload_part(b"data:" + json.dumps(event).encode() + b"\n\n")
            self.server.sent.append(time.perf_counter())
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_app(asset: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["/bin/sh", str(asset / "run.sh")],
        env=env | {"AWS_LWA_PORT": str(port), "PYTHON": sys.executable, "LAMBDA_TASK_ROOT": str(asset)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process


def wait_ready(port: int, timeout: float = 30) -> None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.001)
    raise RuntimeError("the app did not answer its readiness check")


def read_token_times(response: Any) -> list[float]:
    """Arrival time of each complete event (blank line read) that holds a token."""
    times: list[float] = []
    pending = b""
    while True:
        chunk = response.read1(65536)
        if not chunk:
            return times
        pending += chunk
        while b"\n\n" in pending:
            event, pending = pending.split(b"\n\n", 1)
            if b'"token"' in event:
                times.append(time.perf_counter())


def through_proxy(port: int, stand_in: StandIn, requests: int) -> tuple[list[float], list[float]]:
    first: list[float] = []
    others: list[float] = []
    body = json.dumps({"inputs": "Tell me about the Mistral wind.", "stream": True})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for run in range(requests + 3):
        connection.request("POST", "/generate", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200, response.read()
        received = read_token_times(response)
        sent = list(stand_in.sent)
        assert len(received) == len(sent) == stand_in.tokens, (len(received), len(sent))
        if run >= 3:  # the first requests warm connections and caches
            first.append((received[0] - sent[0]) * 1000)
            others.extend((r - s) * 1000 for r, s in zip(received[1:], sent[1:], strict=True))
    connection.close()
    return first, others


def direct(stand_in: StandIn, requests: int) -> tuple[list[float], list[float]]:
    """The same stream read by a bare botocore client, for the baseline."""
    import boto3

    os.environ.update(ENV | {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": stand_in.url})
    client = boto3.client("sagemaker-runtime")
    first: list[float] = []
    others: list[float] = []
    for run in range(requests + 3):
        received: list[float] = []
        stream = client.invoke_endpoint_with_response_stream(
            EndpointName="bench-endpoint", ContentType="application/json", Body=b"{}"
        )["Body"]
        for _ in stream:
            received.append(time.perf_counter())
        sent = list(stand_in.sent)
        if run >= 3:
            first.append((received[0] - sent[0]) * 1000)
            others.extend((r - s) * 1000 for r, s in zip(received[1:], sent[1:], strict=True))
    return first, others


def cold_starts(asset: Path, env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import invoke_proxy.handler; print('ready', flush=True)"
    )
    buffered: list[float] = []
    streaming: list[float] = []
    for run in range(runs + 1):
        started = time.perf_counter()
        probe_process = subprocess.Popen(
            [sys.executable, "-c", probe, str(asset)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert probe_process.stdout is not None
        assert probe_process.stdout.readline() == b"ready\n"  # ready: the interpreter's exit is not timed
        elapsed_buffered = (time.perf_counter() - started) * 1000
        probe_process.wait(timeout=10)
        port = free_port()
        started = time.perf_counter()
        process = start_app(asset, env, port)
        try:
            wait_ready(port)
            elapsed_streaming = (time.perf_counter() - started) * 1000
        finally:
            process.terminate()
            process.wait(timeout=10)
        if run:  # the first round only warms the file system caches
            buffered.append(elapsed_buffered)
            streaming.append(elapsed_streaming)
    return buffered, streaming


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=50, help="streamed requests (default 50)")
    parser.add_argument("--tokens", type=int, default=16, help="tokens per answer (default 16)")
    parser.add_argument("--interval-ms", type=float, default=30.0, help="time between tokens (default 30 ms)")
    parser.add_argument("--cold-runs", type=int, default=20, help="fresh processes per function (default 20)")
    args = parser.parse_args()

    env = (
        {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        | ENV
        | {"PYTHONDONTWRITEBYTECODE": "1"}
    )
    stand_in = StandIn(args.tokens, args.interval_ms / 1000)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; a token every {args.interval_ms:g} ms")
    with tempfile.TemporaryDirectory() as scratch:
        asset = Path(scratch, "asset")
        shutil.copytree(LAMBDA_ROOT, asset, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

        port = free_port()
        app = start_app(asset, env | {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": stand_in.url}, port)
        try:
            wait_ready(port)
            proxy_first, proxy_others = through_proxy(port, stand_in, args.requests)
        finally:
            app.terminate()
            app.wait(timeout=10)
        bare_first, bare_others = direct(stand_in, args.requests)

        print(f"\nToken latency, stand-in write -> caller has the whole event ({args.requests} requests)")
        print(f"  first token, through the proxy   {describe(proxy_first)}")
        print(f"  first token, bare botocore       {describe(bare_first)}")
        print(f"  other tokens, through the proxy  {describe(proxy_others)}")
        print(f"  other tokens, bare botocore      {describe(bare_others)}")
        first = statistics.median(proxy_first)
        added = statistics.median(proxy_others) - statistics.median(bare_others)
        print(f"  first token (median): {first:.3f} ms   target < 20 ms: {'met' if first < 20 else 'MISSED'}")
        print(
            f"  added per token (difference of medians): {added:.3f} ms   target < 2 ms: {'met' if added < 2 else 'MISSED'}"
        )

        buffered, streaming = cold_starts(asset, env, args.cold_runs)
        print("\nCold start, fresh processes (interpreter start-up included in both)")
        print(f"  buffered  (import invoke_proxy.handler)       {describe(buffered)}")
        print(f"  streaming (run.sh until GET /health answers)  {describe(streaming)}")
        print(
            f"  ratio streaming/buffered (medians): {statistics.median(streaming) / statistics.median(buffered):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
