"""The OpenAI Python client works against the proxy when given FunctionUrlSigner as its HTTP client's auth.

The proxy runs behind the local dev server (the same function URL adapter as in Lambda), its SageMaker runtime
stubbed with botocore's Stubber; the signature that arrives is checked with botocore.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from cli_helpers import Recorded, signature_is_valid
from function_url_server import make_local_server

from invoke_proxy.config import load_config
from invoke_proxy.core import Proxy
from invoke_proxy.function_url import handle_event
from invoke_proxy.sagemaker import create_client
from mistral_client import FunctionUrlSigner

openai = pytest.importorskip("openai")
httpx2 = pytest.importorskip("httpx2")


@pytest.fixture
def proxy_url() -> Iterator[tuple[str, Stubber, list[dict[str, Any]]]]:
    config = load_config({"ENDPOINT_NAME": "ep", "AWS_REGION": "us-east-1"})
    client = create_client(config)
    stubber = Stubber(client)
    stubber.activate()
    proxy = Proxy(config, client)
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return handle_event(proxy, event, context)

    server = make_local_server("127.0.0.1", 0, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", stubber, events
    server.shutdown()
    server.server_close()


def tgi(text: str, tokens: int) -> dict[str, Any]:
    raw = json.dumps(
        [{"generated_text": text, "details": {"finish_reason": "eos_token", "generated_tokens": tokens}}]
    )
    return {"Body": StreamingBody(io.BytesIO(raw.encode()), len(raw)), "ContentType": "application/json"}


def openai_client(url: str) -> Any:
    signer = FunctionUrlSigner(region="us-east-1")
    return openai.OpenAI(
        base_url=url + "v1",
        api_key="unused",
        max_retries=0,
        http_client=httpx2.Client(auth=signer, timeout=30),
    )


def test_openai_client_gets_a_chat_completion(proxy_url: tuple[str, Stubber, list[dict[str, Any]]]) -> None:
    url, stubber, _ = proxy_url
    stubber.add_response("invoke_endpoint", tgi("Bonjour !", 4))
    completion = openai_client(url).chat.completions.create(
        model="mistral-7b-instruct",
        messages=[{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Hello"}],
        max_tokens=50,
        temperature=0.7,
    )
    assert completion.choices[0].message.content == "Bonjour !"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 4


def test_openai_client_requests_are_sigv4_signed(
    proxy_url: tuple[str, Stubber, list[dict[str, Any]]],
) -> None:
    url, stubber, events = proxy_url
    stubber.add_response("invoke_endpoint", tgi("Hi", 1))
    openai_client(url).chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    event = events[0]
    headers = event["headers"]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    recorded = Recorded(
        event["requestContext"]["http"]["method"],
        event["rawPath"],
        {k.title() if k == "authorization" else k: v for k, v in headers.items()},
        base64.b64decode(event["body"]),
    )
    assert signature_is_valid(recorded, url, "us-east-1")


def test_openai_client_sees_a_proxy_400_as_a_bad_request_error(
    proxy_url: tuple[str, Stubber, list[dict[str, Any]]],
) -> None:
    url, _, _ = proxy_url
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client(url).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Hi"}], n=2
        )
    assert "n must be 1" in str(raised.value)
