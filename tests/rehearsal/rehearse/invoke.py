"""The invoke phase: the deployed proxy code, loaded as Lambda loads it, answers function URL events; the
SageMaker runtime it calls is the emulator's, answering queued TGI responses."""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from mistral_client.function_url import url_event

from .common import ACCOUNT, check
from .deploy import process_env
from .emulator import LOOPBACK, Emulator
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


@contextlib.contextmanager
def deployed_entry_point(handler: str, url: str, context: LambdaContext, code_root: Path) -> Iterator[Send]:
    """What Lambda runs for the deployed handler, answering (method, path, body) as {statusCode, headers, body}.

    ``run.sh`` (the streaming function): the Web Adapter forwards each request over loopback HTTP to the proxy's
    HTTP app, which run.sh starts; here the app is started from the asset in-process. Otherwise the buffered
    handler function, called with function URL events.
    """
    if handler != "run.sh":
        module_name, function_name = handler.rsplit(".", 1)
        module = importlib.import_module(module_name)
        check(
            Path(module.__file__ or "").is_relative_to(code_root),
            f"imported {module.__file__}, not the asset",
        )
        entry = getattr(module, function_name)
        yield lambda method, path, body: entry(function_url_event(url, method, path, body), context)
        return
    http_server = importlib.import_module("invoke_proxy.http_server")
    check(
        Path(http_server.__file__ or "").is_relative_to(code_root),
        f"imported {http_server.__file__}, not the asset",
    )
    config = importlib.import_module("invoke_proxy.config").load_config(os.environ)
    client = importlib.import_module("invoke_proxy.sagemaker").create_client(config)
    server = http_server.make_server(
        importlib.import_module("invoke_proxy.core").Proxy(config, client), "127.0.0.1", 0
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lambda_context = json.dumps(
        {"request_id": context.aws_request_id, "invoked_function_arn": context.invoked_function_arn}
    )

    def send(method: str, path: str, body: object | None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.server_address[1]}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"content-type": "application/json", "x-amzn-lambda-context": lambda_context},
        )
        try:
            with LOOPBACK.open(request, timeout=30) as answer:
                return {
                    "statusCode": answer.status,
                    "headers": dict(answer.headers),
                    "body": answer.read().decode(),
                }
        except urllib.error.HTTPError as error:
            return {"statusCode": error.code, "headers": dict(error.headers), "body": error.read().decode()}

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
def loaded_proxy(clients: Clients, deployed: Deployed, out_dir: Path) -> Iterator[LoadedProxy]:
    """Load the proxy's handler with the deployed function's environment, as Lambda loads it; the SageMaker
    runtime it calls is the emulator's. The environment (and boto3's default session) is restored after."""
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
            context = LambdaContext(function_name, fconfig["FunctionArn"])
            url = deployed.outputs["InvokeUrl"]
            with deployed_entry_point(fconfig["Handler"], url, context, code_root) as send:
                yield LoadedProxy(send, sent)
    finally:
        sys.path.remove(str(code_root))
        boto3.DEFAULT_SESSION = None
        proxy_logger.removeHandler(log_handler)
        log_file.close()


def invoke_proxy(
    emulator: Emulator, clients: Clients, deployed: Deployed, expect_max_new_tokens: int, out_dir: Path
) -> str:
    """Call the deployed proxy's handler like Lambda would; the SageMaker runtime it calls is the emulator's,
    answering queued TGI responses."""
    endpoint_name = deployed.outputs["EndpointName"]
    with loaded_proxy(clients, deployed, out_dir) as proxy:
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
    return (
        f"health, generate, chat answered 200 through {endpoint_name}; max_new_tokens {expect_max_new_tokens}"
    )
