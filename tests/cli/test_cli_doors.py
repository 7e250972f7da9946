"""Each door signs for its own service: ``lambda`` for a function URL, ``execute-api`` for API Gateway (the
private API's private DNS name, its Route 53 alias and a VPC endpoint's own host name), the region from the URL
too; any other host is refused unless ``--service`` says which; routes join under a private API's stage."""

from __future__ import annotations

import pytest
from cli_helpers import AUTHORIZATION, FunctionUrl, Run, signature_is_valid

from mistral_client import CliError
from mistral_client.signing import DoorSigner, make_session

FUNCTION_URL = "https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/generate"
PRIVATE_DNS = "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/prod/chat"
ROUTE53_ALIAS = "https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.ap-southeast-2.amazonaws.com/prod/chat"
VPCE_HOST = "https://vpce-0123456789abcdef0-abcd1234.execute-api.us-east-2.vpce.amazonaws.com/prod/chat"


def scope_of(url: str, **signer: str) -> tuple[str, str]:
    """(region, service) of the credential scope in the Authorization header signed for ``url``."""
    headers = DoorSigner(session=make_session(), **signer).headers("POST", url, b"{}", "application/json")
    match = AUTHORIZATION.fullmatch(headers["Authorization"])
    assert match, headers["Authorization"]
    return match["region"], match["service"]


def test_a_function_url_is_signed_for_lambda_in_its_region() -> None:
    assert scope_of(FUNCTION_URL) == ("eu-west-1", "lambda")


def test_a_private_apis_private_dns_name_is_signed_for_execute_api_in_its_region() -> None:
    assert scope_of(PRIVATE_DNS) == ("eu-central-1", "execute-api")


def test_a_private_apis_route53_alias_is_signed_for_execute_api_in_its_region() -> None:
    assert scope_of(ROUTE53_ALIAS) == ("ap-southeast-2", "execute-api")


def test_a_vpc_endpoints_host_name_is_signed_for_execute_api_in_its_region() -> None:
    assert scope_of(VPCE_HOST, api_id="a1b2c3d4e5") == ("us-east-2", "execute-api")


def test_a_vpc_endpoints_host_name_carries_the_api_id_in_a_signed_header() -> None:
    headers = DoorSigner(session=make_session(), api_id="a1b2c3d4e5").headers("GET", VPCE_HOST, None, None)
    assert headers["x-apigw-api-id"] == "a1b2c3d4e5"
    assert "x-apigw-api-id" in AUTHORIZATION.fullmatch(headers["Authorization"])["signed"].split(";")  # type: ignore[index]


def test_a_vpc_endpoints_host_name_without_an_api_id_is_refused() -> None:
    with pytest.raises(CliError, match="pass --api-id"):
        DoorSigner(session=make_session()).headers("GET", VPCE_HOST, None, None)


def test_the_api_id_header_is_not_sent_to_the_apis_own_name() -> None:
    headers = DoorSigner(session=make_session(), api_id="a1b2c3d4e5").headers("GET", PRIVATE_DNS, None, None)
    assert "x-apigw-api-id" not in headers


def test_a_given_region_wins_over_the_urls() -> None:
    assert scope_of(PRIVATE_DNS, region="us-west-2") == ("us-west-2", "execute-api")


def test_an_unknown_host_is_refused_with_what_to_pass() -> None:
    with pytest.raises(CliError, match="--service lambda or --service execute-api"):
        scope_of("https://llm.example.com/prod/chat", region="eu-west-1")


def test_an_unknown_host_is_signed_for_the_service_given() -> None:
    assert scope_of("https://llm.example.com/chat", region="eu-west-1", service="execute-api") == (
        "eu-west-1",
        "execute-api",
    )


def test_an_unknown_service_name_is_refused() -> None:
    with pytest.raises(CliError, match="Unknown signing service 's3'"):
        DoorSigner(session=make_session(), service="s3")


def test_the_cli_refuses_an_unknown_host_before_sending(run: Run) -> None:
    code, _, err = run("--url", "https://llm.example.com/", "health")
    assert code == 1
    assert "--service lambda or --service execute-api" in err


def test_the_cli_refuses_a_vpc_endpoint_host_name_without_an_api_id(run: Run) -> None:
    code, _, err = run("--url", VPCE_HOST.removesuffix("chat"), "health")
    assert code == 1
    assert "pass --api-id" in err


def test_door_with_url_is_a_clear_error(run: Run) -> None:
    code, _, err = run("--url", PRIVATE_DNS.removesuffix("chat"), "--door", "private", "health")
    assert code == 1
    assert "--door chooses between a stack's doors" in err


def test_a_route_joins_under_the_stage_of_a_private_api(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"generated_text": "Paris."})
    code, _, err = run(
        "--url",
        function_url.url + "prod/",
        "--service",
        "execute-api",
        "--region",
        "eu-west-1",
        "generate",
        "The capital of France is",
    )
    assert code == 0, err
    assert function_url.requests[0].path == "/prod/generate"


def test_a_stage_prefixed_request_is_signed_for_its_full_path(run: Run, function_url: FunctionUrl) -> None:
    function_url.answer(200, {"status": "ok"})
    run("--url", function_url.url + "prod", "--service", "execute-api", "--region", "eu-west-1", "health")
    request = function_url.requests[0]
    assert request.path == "/prod/health"
    assert signature_is_valid(request, function_url.url, "eu-west-1", service="execute-api")


def test_a_403_from_an_api_names_execute_api_invoke_and_the_vpc_endpoint(
    run: Run, function_url: FunctionUrl
) -> None:
    function_url.answer(403, {"Message": "User: anonymous is not authorized to perform: execute-api:Invoke"})
    code, _, err = run(
        "--url", function_url.url + "prod/", "--service", "execute-api", "--region", "eu-west-1", "health"
    )
    assert code == 1
    assert "execute-api:Invoke" in err and "aws:SourceVpce" in err
    assert "lambda:InvokeFunctionUrl" not in err


def test_the_signer_signs_a_requests_call_to_a_private_api_stage(function_url: FunctionUrl) -> None:
    requests = pytest.importorskip("requests")
    function_url.answer(200, {"generated_text": "x"})
    requests.post(
        function_url.url + "prod/generate",
        json={"inputs": "Hi"},
        auth=DoorSigner(region="eu-west-1", service="execute-api"),
        timeout=10,
    )
    request = function_url.requests[0]
    assert request.path == "/prod/generate"
    assert signature_is_valid(request, function_url.url, "eu-west-1", service="execute-api")
