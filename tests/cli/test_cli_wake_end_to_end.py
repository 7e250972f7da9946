"""The wake path end to end: SageMaker's "no capacity" on the wire, the proxy's 503, the CLI's wait.

``mistral-invoke serve`` runs the Lambda handler in a subprocess against a loopback SageMaker runtime; the
client runs in-process with a fake clock, so nothing really waits.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from cli_helpers import FunctionUrl, serve_subprocess
from test_cli_wake import FakeTime

from mistral_client import cli

NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)


@pytest.fixture
def sagemaker() -> Iterator[FunctionUrl]:
    server = FunctionUrl().start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def served(sagemaker: FunctionUrl) -> Iterator[str]:
    with serve_subprocess(sagemaker.url.rstrip("/"), "--inference-component-name", "dev-ic") as (url, _):
        yield url


def no_capacity(sagemaker: FunctionUrl) -> None:
    """SageMaker runtime's error on the wire (rest-json): the code in a header, the message in the body."""
    sagemaker.answer(400, {"message": NO_CAPACITY}, {"x-amzn-ErrorType": "ValidationError"})


def generate(served: str, fake: FakeTime, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    # Buffered: this stand-in answers InvokeEndpoint's JSON (the streamed wake: test_cli_streaming.py).
    argv = ["--url", served, *extra, "generate", "The capital of France is", "--no-stream"]
    code = cli.main(argv, stdin=io.StringIO(), stdout=out, stderr=err, clock=fake.clock, sleep=fake.sleep)
    return code, out.getvalue(), err.getvalue()


def test_serve_names_the_inference_component_on_the_wire(served: str, sagemaker: FunctionUrl) -> None:
    sagemaker.answer(200, [{"generated_text": "Paris."}])
    code, out, err = generate(served, FakeTime())
    assert (code, out) == (0, "Paris.\n"), err
    headers = {k.lower(): v for k, v in sagemaker.requests[0].headers.items()}
    assert headers["x-amzn-sagemaker-inference-component"] == "dev-ic"


def test_the_cli_waits_through_no_capacity_and_prints_the_answer(served: str, sagemaker: FunctionUrl) -> None:
    no_capacity(sagemaker)
    no_capacity(sagemaker)
    sagemaker.answer(200, [{"generated_text": "Paris."}])
    fake = FakeTime()
    code, out, err = generate(served, fake)
    assert (code, out) == (0, "Paris.\n"), err
    assert fake.sleeps == [60, 60]  # the proxy's Retry-After
    assert "model scaling up from zero: waited 0s of 15m0s, next try in 1m0s" in err
    assert len(sagemaker.requests) == 3


def test_with_wait_0_the_caller_sees_the_proxys_503(served: str, sagemaker: FunctionUrl) -> None:
    no_capacity(sagemaker)
    code, out, err = generate(served, FakeTime(), "--wait", "0")
    assert (code, out) == (1, "")
    assert "error: 503 model_scaling_up: The model is starting from zero instances" in err
    assert "about 5-10 minutes" in err
    assert err.rstrip().endswith("; retry after 60 s")
