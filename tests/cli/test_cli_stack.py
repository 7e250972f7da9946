"""``--stack`` reads a door's URL and the region from the stack's outputs (stubbed CloudFormation): the function
URL (InvokeUrl) or the private API (PrivateApiUrl), chosen with ``--door``."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber
from cli_helpers import AUTHORIZATION, FunctionUrl, Run, signature_is_valid

from mistral_client import transport

STACK = "MistralEndpointStack"


def stack_description(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{STACK}/0a1b2c3d",
                "CreationTime": "2026-11-27T09:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = botocore.session.get_session().create_client("cloudformation", region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.activate()
    regions: list[str | None] = []

    def create_client(session: Any, service: str, region: str | None) -> Any:
        assert service == "cloudformation"
        regions.append(region)
        return client

    monkeypatch.setattr(transport, "create_client", create_client)
    stubber.regions = regions  # type: ignore[attr-defined]
    return stubber


def outputs_for(url: str) -> dict[str, str]:
    return {
        "InvokeUrl": url,
        "EndpointName": "mistral-7b-instruct",
        "Region": "eu-west-1",
        "InvokeCommand": f"mistral-invoke --stack {STACK} chat",
    }


def test_stack_lookup_reads_the_invoke_url(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber
) -> None:
    cloudformation.add_response(
        "describe_stacks", stack_description(outputs_for(function_url.url)), {"StackName": STACK}
    )
    function_url.answer(200, {"status": "ok"})
    code, out, _ = run("--stack", STACK, "health")
    assert code == 0
    assert '"status": "ok"' in out
    cloudformation.assert_no_pending_responses()


def test_stack_lookup_signs_for_the_stacks_region(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber
) -> None:
    cloudformation.add_response(
        "describe_stacks", stack_description(outputs_for(function_url.url)), {"StackName": STACK}
    )
    function_url.answer(200, {"status": "ok"})
    run("--stack", STACK, "health")
    assert signature_is_valid(function_url.requests[0], function_url.url, "eu-west-1")


def test_stack_lookup_asks_cloudformation_in_the_given_region(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber
) -> None:
    cloudformation.add_response(
        "describe_stacks", stack_description(outputs_for(function_url.url)), {"StackName": STACK}
    )
    function_url.answer(200, {"status": "ok"})
    run("--stack", STACK, "--region", "eu-west-1", "health")
    assert cloudformation.regions == ["eu-west-1"]  # type: ignore[attr-defined]


def test_a_missing_stack_is_reported(run: Run, cloudformation: Stubber) -> None:
    cloudformation.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist", 400
    )
    code, _, err = run("--stack", STACK, "health")
    assert code == 1
    assert f"Could not read stack '{STACK}': Stack with id {STACK} does not exist" in err


def test_a_stack_without_a_door_is_reported(run: Run, cloudformation: Stubber) -> None:
    cloudformation.add_response("describe_stacks", stack_description({"EndpointName": "ep"}))
    code, _, err = run("--stack", STACK, "health")
    assert code == 1
    assert "has no door: no InvokeUrl output (the function URL) and no PrivateApiUrl output" in err
    assert "(outputs: EndpointName)" in err


def test_neither_url_nor_stack_is_a_clear_error(run: Run) -> None:
    code, _, err = run("health")
    assert code == 1
    assert "--url URL, or --stack STACK_NAME" in err


# --- the doors: InvokeUrl (the function URL), PrivateApiUrl (the private API's stage URL) ---------------------


def door_outputs(function_url: FunctionUrl, *doors: str) -> dict[str, str]:
    """The stack's outputs with the doors named: the function URL at the root, the private API under /prod/."""
    urls = {"InvokeUrl": function_url.url, "PrivateApiUrl": function_url.url + "prod/"}
    return {"Region": "eu-west-1", **{key: urls[key] for key in doors}}


def signed_service(function_url: FunctionUrl) -> str:
    match = AUTHORIZATION.fullmatch(function_url.requests[0].headers["Authorization"])
    assert match
    return match["service"]


def test_a_stack_with_only_the_private_api_is_called_through_it(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber
) -> None:
    cloudformation.add_response(
        "describe_stacks", stack_description(door_outputs(function_url, "PrivateApiUrl"))
    )
    function_url.answer(200, {"status": "ok"})
    code, _, err = run("--stack", STACK, "health")
    assert code == 0, err
    assert function_url.requests[0].path == "/prod/health"


def test_the_private_api_from_a_stack_is_signed_for_execute_api(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber
) -> None:
    cloudformation.add_response(
        "describe_stacks", stack_description(door_outputs(function_url, "PrivateApiUrl"))
    )
    function_url.answer(200, {"status": "ok"})
    run("--stack", STACK, "health")
    assert signature_is_valid(function_url.requests[0], function_url.url, "eu-west-1", service="execute-api")


@pytest.mark.parametrize(
    ("door", "path", "service"),
    [
        ([], "/health", "lambda"),
        (["--door", "private"], "/prod/health", "execute-api"),
        (["--door", "url"], "/health", "lambda"),
    ],
    ids=[
        "function-url-by-default",
        "door-private-chooses-the-private-api",
        "door-url-chooses-the-function-url",
    ],
)
def test_a_stack_with_both_doors_is_called_through_the_one_door_chooses(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber, door: list[str], path: str, service: str
) -> None:
    outputs = door_outputs(function_url, "InvokeUrl", "PrivateApiUrl")
    cloudformation.add_response("describe_stacks", stack_description(outputs))
    function_url.answer(200, {"status": "ok"})
    run("--stack", STACK, *door, "health")
    assert (function_url.requests[0].path, signed_service(function_url)) == (path, service)


def test_an_absent_door_is_an_error_naming_the_doors_the_stack_has(
    run: Run, function_url: FunctionUrl, cloudformation: Stubber
) -> None:
    cloudformation.add_response("describe_stacks", stack_description(door_outputs(function_url, "InvokeUrl")))
    code, _, err = run("--stack", STACK, "--door", "private", "health")
    assert code == 1
    assert (
        "has no private door (no PrivateApiUrl output); its doors: url (InvokeUrl). Pass --door url." in err
    )
    assert function_url.requests == []


def test_an_unknown_door_is_a_usage_error(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--stack", STACK, "--door", "public", "health")
    assert exited.value.code == 2
    assert "invalid choice: 'public'" in capsys.readouterr().err
