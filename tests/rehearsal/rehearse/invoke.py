"""The invoke phase: the deployed proxy code, loaded as Lambda loads it, answers its door's events (function URL
events, or the private REST API's proxy events); the SageMaker runtime it calls is the emulator's, answering queued
TGI responses."""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from web_adapter import invoke_streaming, read_streamed_response

from mistral_client.function_url import url_event

from .common import ACCOUNT, check
from .deploy import process_env
from .emulator import Emulator
from .stack import Clients, Deployed, unpack_function_code


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 89_000


def function_url_event(url: str, method: str, path: str, body: object | None) -> dict[str, Any]:
    """A function URL request (payload format 2.0), as Lambda delivers it after SigV4 authentication."""
    domain = url.split("://", 1)[-1].rstrip("/")
    return url_event(
        method,
        path,
        headers={"content-type": "application/json", "host": domain, "user-agent": "rehearsal"},
        body=None if body is None else json.dumps(body),
        domain=domain,
        account_id=ACCOUNT,
        caller_arn=f"arn:aws:iam::{ACCOUNT}:user/rehearsal",
    )


Send = Callable[[str, str, object | None], dict[str, Any]]
# The door's event for (method, path, body): what Lambda hands the function for one request through that door.
DoorEvent = Callable[[str, str, object | None], dict[str, Any]]


@contextlib.contextmanager
def deployed_entry_point(
    handler: str, door_event: DoorEvent, context: LambdaContext, code_root: Path
) -> Iterator[Send]:
    """What Lambda runs for the deployed handler, answering (method, path, body) as {statusCode, headers, body}.

    ``run.sh`` (the streaming function): the Web Adapter turns each door event into a loopback HTTP request to the
    proxy's HTTP app, which run.sh starts (``http_server.main``: trusting the adapter's ``x-amzn-request-context``
    for the caller), and streams the app's answer back as Lambda's streamed response (metadata, delimiter,
    payload), which the door reads; here the app is started from the asset in-process and the adapter is the
    tests' imitation (tests/web_adapter.py). Otherwise the buffered handler function, called with the door events.
    """
    if handler != "run.sh":
        module_name, function_name = handler.rsplit(".", 1)
        module = importlib.import_module(module_name)
        check(
            Path(module.__file__ or "").is_relative_to(code_root),
            f"imported {module.__file__}, not the asset",
        )
        entry = getattr(module, function_name)
        yield lambda method, path, body: entry(door_event(method, path, body), context)
        return
    http_server = importlib.import_module("invoke_proxy.http_server")
    check(
        Path(http_server.__file__ or "").is_relative_to(code_root),
        f"imported {http_server.__file__}, not the asset",
    )
    config = importlib.import_module("invoke_proxy.config").load_config(os.environ)
    client = importlib.import_module("invoke_proxy.sagemaker").create_client(config)
    server = http_server.make_server(
        importlib.import_module("invoke_proxy.core").Proxy(config, client),
        "127.0.0.1",
        0,
        trust_request_context=True,  # as run.sh's http_server.main, behind the Web Adapter
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def send(method: str, path: str, body: object | None) -> dict[str, Any]:
        streamed = invoke_streaming(
            server.server_address[1], door_event(method, path, body), request_id=context.aws_request_id
        )
        # Raises when the answer is not Lambda's streamed response format (metadata, delimiter, payload).
        metadata, payload = read_streamed_response(streamed)
        return {
            "statusCode": metadata["statusCode"],
            "headers": metadata["headers"],
            "body": b"".join(payload).decode(),
        }

    try:
        yield send
    finally:
        server.shutdown()
        server.server_close()


def tgi_answer(text: str, generated_tokens: int) -> str:
    """TGI 1.1's answer to a request with ``details: true`` (the proxy always asks for details)."""
    details = {"finish_reason": "eos_token", "generated_tokens": generated_tokens}
    return json.dumps([{"generated_text": text, "details": details}])


@dataclass
class LoadedProxy:
    """The deployed proxy, run as Lambda runs its handler (from the published asset, with the function's
    environment), and the InvokeEndpoint calls it makes (endpoint, component, body)."""

    send: Send
    sent: list[dict[str, Any]]

    def call(self, method: str, path: str, body: object | None = None) -> dict[str, Any]:
        """One function URL request through the deployed entry point: {statusCode, headers, body}."""
        return self.send(method, path, body)


@contextlib.contextmanager
def loaded_proxy(
    clients: Clients, deployed: Deployed, out_dir: Path, door_event: DoorEvent | None = None
) -> Iterator[LoadedProxy]:
    """Load the proxy's handler with the deployed function's environment, as Lambda loads it; the SageMaker
    runtime it calls is the emulator's. The environment (and boto3's default session) is restored after.

    ``door_event``: the door's event for each request (default: the function URL's, from the InvokeUrl output).
    The proxy's log lines go to ``out_dir/proxy.log`` as JSON, as run.sh's app writes them."""
    function_name = deployed.one("AWS::Lambda::Function")
    fconfig = clients.lam.get_function_configuration(FunctionName=function_name)
    variables = fconfig.get("Environment", {}).get("Variables", {})
    code_root = unpack_function_code(clients, deployed, out_dir / f"function-code-{uuid.uuid4().hex[:8]}")
    sys.path.insert(0, str(code_root))  # the deployed code, unpacked from the published asset, as Lambda does
    sent: list[dict[str, Any]] = []
    # The proxy's log lines (one per request, warnings for refused calls) and its embedded-metric lines (stdout in
    # Lambda) go to a file, as to CloudWatch, not to the rehearsal's output.
    log_file = (out_dir / "proxy.log").open("a")
    log_handler = logging.StreamHandler(log_file)
    proxy_logger = logging.getLogger("invoke_proxy")
    proxy_logger.addHandler(log_handler)

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(
            {
                "EndpointName": params["EndpointName"],
                "InferenceComponentName": params.get("InferenceComponentName"),
                "Body": json.loads(params["Body"]),
            }
        )

    try:
        with (
            process_env({**os.environ, **variables, "AWS_LAMBDA_FUNCTION_NAME": function_name}),
            contextlib.redirect_stdout(log_file),
        ):
            # The proxy creates its client from boto3's default session at import: watch its calls there.
            boto3.setup_default_session()
            assert boto3.DEFAULT_SESSION is not None
            boto3.DEFAULT_SESSION.events.register(
                "provide-client-params.sagemaker-runtime.InvokeEndpoint", record
            )
            for name in [m for m in sys.modules if m == "invoke_proxy" or m.startswith("invoke_proxy.")]:
                del sys.modules[name]  # the configuration is read at import: import the deployed code afresh
            # JSON lines with every field of the record (the caller too), as the function's lines are written.
            log_handler.setFormatter(importlib.import_module("invoke_proxy.json_logs").JsonLogFormatter())
            context = LambdaContext(function_name, fconfig["FunctionArn"])
            if door_event is None:
                door_event = functools.partial(function_url_event, deployed.outputs["InvokeUrl"])
            with deployed_entry_point(fconfig["Handler"], door_event, context, code_root) as send:
                yield LoadedProxy(send, sent)
    finally:
        sys.path.remove(str(code_root))
        boto3.DEFAULT_SESSION = None
        proxy_logger.removeHandler(log_handler)
        log_file.close()


def request_log_lines(log: Path, offset: int) -> list[dict[str, Any]]:
    """The proxy's request log lines (JSON, message "request") written to ``log`` after ``offset``."""
    with log.open("rb") as lines:
        lines.seek(offset)
        parsed = [json.loads(line) for line in lines if line.startswith(b"{")]
    return [line for line in parsed if line.get("message") == "request"]


def invoke_proxy(
    emulator: Emulator,
    clients: Clients,
    deployed: Deployed,
    expect_max_new_tokens: int,
    out_dir: Path,
    door_event: DoorEvent | None = None,
    expect_caller: str | None = None,
) -> str:
    """Call the deployed proxy's handler like Lambda would, with the door's events (default: the function URL's);
    the SageMaker runtime it calls is the emulator's, answering queued TGI responses. ``expect_caller``: the name
    every request log line must give the caller."""
    endpoint_name = deployed.outputs["EndpointName"]
    log = out_dir / "proxy.log"
    offset = log.stat().st_size if log.exists() else 0
    with loaded_proxy(clients, deployed, out_dir, door_event) as proxy:
        emulator.queue_sagemaker_answers([tgi_answer(" Paris.", 3), tgi_answer(" Bonjour !", 4)])
        health = proxy.call("GET", "/health")
        generate = proxy.call("POST", "/generate", {"inputs": "The capital of France is"})
        chat = proxy.call(
            "POST", "/chat", {"messages": [{"role": "user", "content": "Say hello in French."}]}
        )
        sent = proxy.sent

    for name, answer in (("GET /health", health), ("POST /generate", generate), ("POST /chat", chat)):
        check(
            answer.get("statusCode") == 200,
            f"{name} answered {answer.get('statusCode')}: {answer.get('body')}",
        )
    check(json.loads(health["body"]).get("endpoint_name") == endpoint_name, f"/health: {health['body']}")
    check(json.loads(generate["body"]).get("generated_text") == " Paris.", f"/generate: {generate['body']}")
    check("Bonjour" in chat["body"], f"/chat: {chat['body']}")
    check(len(sent) == 2, f"expected 2 InvokeEndpoint calls, saw {len(sent)}")
    check(
        {s["EndpointName"] for s in sent} == {endpoint_name}, f"the proxy called {sent[0]['EndpointName']!r}"
    )
    clients.sagemaker.describe_endpoint(EndpointName=sent[0]["EndpointName"])  # the endpoint it called exists
    tokens = [s["Body"].get("parameters", {}).get("max_new_tokens") for s in sent]
    check(
        tokens == [expect_max_new_tokens] * 2,
        f"max_new_tokens sent {tokens}, deployed default {expect_max_new_tokens}",
    )
    check(
        "[INST]" in sent[1]["Body"]["inputs"],
        f"the chat prompt is not in Mistral's format: {sent[1]['Body']}",
    )
    summary = (
        f"health, generate, chat answered 200 through {endpoint_name}; max_new_tokens {expect_max_new_tokens}"
    )
    if expect_caller is not None:
        callers = [line.get("caller") for line in request_log_lines(log, offset)]
        check(
            callers == [expect_caller] * 3,
            f"the proxy's request log lines name {callers}, not {expect_caller!r} for each of the 3 requests",
        )
        summary += f"; the proxy logged caller {expect_caller}"
    return summary
