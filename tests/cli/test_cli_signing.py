"""The CLI signs every request with SigV4 for service ``lambda``; botocore checks it on a loopback server."""

from __future__ import annotations

import pytest
from cli_helpers import FunctionUrl, Run, signature_is_valid

from mistral_client.signing import region_from_url


def test_a_generate_request_is_signed_for_lambda(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "Paris."})
    code, _, _ = run(
        "--url", function_url.url, "--region", "eu-west-1", "generate", "The capital of France is"
    )
    assert code == 0
    assert signature_is_valid(function_url.requests[0], function_url.url, "eu-west-1")


def test_a_get_request_without_a_body_is_signed(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"status": "ok"})
    run("--url", function_url.url, "--region", "us-east-1", "health")
    assert function_url.requests[0].method == "GET"
    assert signature_is_valid(function_url.requests[0], function_url.url, "us-east-1")


def test_a_session_token_is_sent_and_signed(
    run: Run, function_url: FunctionUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-example")
    function_url.answer(200, {"generated_text": "x"})
    run("--url", function_url.url, "--region", "us-east-1", "generate", "Hi")
    request = function_url.requests[0]
    assert request.headers["X-Amz-Security-Token"] == "session-token-example"
    assert "x-amz-security-token" in request.headers["Authorization"]


def test_the_signed_body_is_the_body_sent(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "x"})
    run("--url", function_url.url, "--region", "us-east-1", "generate", "Grüß dich", "--max-new-tokens", "9")
    request = function_url.requests[0]
    assert request.json() == {"inputs": "Grüß dich", "parameters": {"max_new_tokens": 9}, "stream": True}
    assert signature_is_valid(request, function_url.url, "us-east-1")


def test_the_region_is_read_from_a_function_url() -> None:
    assert region_from_url("https://abcdefg.lambda-url.ap-southeast-2.on.aws/") == "ap-southeast-2"


def test_a_url_that_names_no_region_gives_none() -> None:
    assert region_from_url("http://127.0.0.1:8080/") is None


def test_without_credentials_a_remote_url_is_refused(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run("--url", "https://abc.lambda-url.us-east-1.on.aws/", "health")
    assert code == 1
    assert "No AWS credentials found" in err


def test_a_local_dev_server_without_a_region_is_called_unsigned(
    run: Run, function_url: FunctionUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    function_url.answer(200, {"status": "ok"})
    code, _, _ = run("--url", function_url.url, "health")
    assert code == 0
    assert "Authorization" not in function_url.requests[0].headers


def test_the_signer_signs_a_requests_call(function_url: FunctionUrl) -> None:
    requests = pytest.importorskip("requests")
    from mistral_client import FunctionUrlSigner

    function_url.answer(200, {"generated_text": "x"})
    answer = requests.post(
        function_url.url + "generate",
        json={"inputs": "Grüß dich"},
        auth=FunctionUrlSigner(region="eu-west-1"),
        timeout=10,
    )
    assert answer.status_code == 200
    request = function_url.requests[0]
    assert request.json() == {"inputs": "Grüß dich"}
    assert signature_is_valid(request, function_url.url, "eu-west-1")


def test_the_signer_replaces_a_bearer_token(function_url: FunctionUrl) -> None:
    requests = pytest.importorskip("requests")
    from mistral_client import FunctionUrlSigner

    function_url.answer(200, {"status": "ok"})
    requests.get(
        function_url.url + "health",
        headers={"Authorization": "Bearer unused"},
        auth=FunctionUrlSigner(region="us-east-1"),
        timeout=10,
    )
    assert function_url.requests[0].headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
