"""The wake path of a scale-to-zero endpoint, with the emulator's answers: while the inference component has no
copy, SageMaker refuses invocations with a ValidationError ("... no capacity ..."); the deployed proxy answers 503
``model_scaling_up`` with Retry-After, and ``mistral-invoke`` waits (on a fake clock) and then prints the answer."""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path
from typing import Any

from function_url_server import make_local_server

from mistral_client import cli

from .common import check
from .emulator import Emulator
from .invoke import LoadedProxy, loaded_proxy, tgi_answer
from .stack import Clients, Deployed

# SageMaker's refusal while a component has no copy (AWS Machine Learning Blog, "Unlock cost savings with the new
# scale down to zero feature in SageMaker Inference", 2024-12).
NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)
PROMPT = "The capital of France is"


class FakeTime:
    """A clock that moves only when the CLI sleeps: the wait is shown, not spent."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def verify_wake(emulator: Emulator, clients: Clients, deployed: Deployed, out_dir: Path) -> str:
    component = deployed.inference_component_name
    check(component is not None, "the stack has no InferenceComponentName output: not a scale-to-zero stack")
    with loaded_proxy(clients, deployed, out_dir) as proxy:
        refused = _proxy_refuses_while_scaling_up(emulator, proxy)
        waited, progress = _cli_waits_then_answers(emulator, proxy)
        sent = list(proxy.sent)
    check(
        len(sent) == 4,
        f"expected 4 InvokeEndpoint calls (1 refused, then 2 refused and 1 served), saw {len(sent)}",
    )
    named = {(s["EndpointName"], s["InferenceComponentName"]) for s in sent}
    check(
        named == {(deployed.outputs["EndpointName"], component)},
        f"the proxy invoked {named}, not the stack's endpoint with component {component!r}",
    )
    return (
        f"no capacity -> proxy {refused}; mistral-invoke waited {' + '.join(f'{s:.0f} s' for s in waited)} "
        f"(fake clock), printed the answer; {progress!r}"
    )


def _proxy_refuses_while_scaling_up(emulator: Emulator, proxy: LoadedProxy) -> str:
    emulator.queue_sagemaker_error("ValidationError", NO_CAPACITY)
    answer = proxy.call("POST", "/generate", {"inputs": PROMPT})
    body = json.loads(answer.get("body") or "{}")
    error = body.get("error", {}) if isinstance(body, dict) else {}
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    check(
        answer.get("statusCode") == 503 and error.get("type") == "model_scaling_up",
        f"while scaling up the proxy answered {answer.get('statusCode')}: {answer.get('body')}",
    )
    retry_after = headers.get("retry-after", "")
    check(retry_after.isdigit() and int(retry_after) > 0, f"the 503 has no Retry-After in seconds: {headers}")
    return f"503 model_scaling_up, Retry-After {retry_after} s"


def _forward(proxy: LoadedProxy, event: dict[str, Any]) -> dict[str, Any]:
    """A request the local server received, sent to the deployed entry point (as the function URL would)."""
    body = event.get("body")
    if body and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return proxy.call(
        event["requestContext"]["http"]["method"], event["rawPath"], json.loads(body) if body else None
    )


def _cli_waits_then_answers(emulator: Emulator, proxy: LoadedProxy) -> tuple[list[float], str]:
    """``mistral-invoke generate`` against a local server around the deployed handler: two refusals, then the
    model's answer. Buffered (``--no-stream``): the emulator has no InvokeEndpointWithResponseStream."""
    emulator.queue_sagemaker_error("ValidationError", NO_CAPACITY)
    emulator.queue_sagemaker_error("ValidationError", NO_CAPACITY)
    emulator.queue_sagemaker_answers([tgi_answer(" Paris.", 3)])
    server = make_local_server("127.0.0.1", 0, lambda event, _context: _forward(proxy, event))

    thread = threading.Thread(target=server.serve_forever, name="local-proxy", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        out, err, fake = io.StringIO(), io.StringIO(), FakeTime()
        code = cli.main(
            ["--url", url, "generate", "--no-stream", PROMPT],
            stdin=io.StringIO(),
            stdout=out,
            stderr=err,
            clock=fake.clock,
            sleep=fake.sleep,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    check(
        code == 0 and out.getvalue() == " Paris.\n",
        f"mistral-invoke exited {code}: {out.getvalue()!r} {err.getvalue()!r}",
    )
    progress = err.getvalue().strip().splitlines()
    check(
        len(fake.sleeps) == 2 and any("model scaling up from zero" in line for line in progress),
        f"mistral-invoke did not wait visibly: sleeps {fake.sleeps}, stderr {progress}",
    )
    check(
        progress[-1].startswith("model answered after"),
        f"mistral-invoke's last progress line: {progress[-1]!r}",
    )
    return fake.sleeps, progress[-1]
