"""``--stack`` reads the function URL and region from the stack's outputs (stubbed CloudFormation)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber
from cli_helpers import FunctionUrl, Run, signature_is_valid

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


def test_a_stack_without_an_invoke_url_output_is_reported(run: Run, cloudformation: Stubber) -> None:
    cloudformation.add_response("describe_stacks", stack_description({"EndpointName": "ep"}))
    code, _, err = run("--stack", STACK, "health")
    assert code == 1
    assert "has no InvokeUrl output (outputs: EndpointName)" in err


def test_neither_url_nor_stack_is_a_clear_error(run: Run) -> None:
    code, _, err = run("health")
    assert code == 1
    assert "--url URL, or --stack STACK_NAME" in err
