"""A loopback stand-in for the function URL that records requests; SigV4 checks with botocore."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
Run = Callable[..., tuple[int, str, str]]  # the CLI in-process: (exit code, stdout, stderr)
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FunctionUrl(ThreadingHTTPServer):
    """Answers each request with the next queued (status, headers, body)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[Recorded] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.answers.append(
            (status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())
        )

    def start(self) -> FunctionUrl:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class _Handler(BaseHTTPRequestHandler):
    server: FunctionUrl

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
        status, headers, answer = self.server.answers.pop(0)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def signature_is_valid(request: Recorded, url: str, region: str, service: str = "lambda") -> bool:
    """Recompute the SigV4 signature with botocore from what arrived on the wire."""
    match = AUTHORIZATION.fullmatch(request.headers["Authorization"])
    assert match, request.headers["Authorization"]
    assert (match["key"], match["region"], match["service"]) == (ACCESS_KEY, region, service)
    lowered = {k.lower(): v for k, v in request.headers.items()}
    signed = {name: lowered[name] for name in match["signed"].split(";")}
    rebuilt = AWSRequest(
        method=request.method, url=url.rstrip("/") + request.path, data=request.body, headers=signed
    )
    rebuilt.context["timestamp"] = lowered["x-amz-date"]
    auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, region)
    expected = auth.signature(auth.string_to_sign(rebuilt, auth.canonical_request(rebuilt)), rebuilt)
    return expected == match["signature"]


@contextlib.contextmanager
def serve_subprocess(
    runtime_url: str, *options: str, stderr: int = subprocess.PIPE
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``mistral-invoke serve --endpoint-name dev-ep [options]`` in a subprocess on a free loopback port, with
    static credentials, its SageMaker runtime at ``runtime_url``; yields its URL (once it serves) and the process.
    """
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime_url,
    }
    command = [sys.executable, "-m", "mistral_client.cli", "serve", "--endpoint-name", "dev-ep"]
    process = subprocess.Popen(
        [*command, *options, "--port", "0", "--region", "us-east-1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Serving the invoke proxy for endpoint dev-ep on " in line, line
        yield line.rsplit(" ", 1)[1].strip(), process
    finally:
        process.terminate()
        process.wait(timeout=10)
