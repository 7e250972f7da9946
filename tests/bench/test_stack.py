"""``--stack NAME`` reads the stack's InvokeUrl (or PrivateApiUrl), EndpointName and Region outputs (stubbed
CloudFormation); ``--door``, ``--service`` and ``--api-id`` choose and sign for a door."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from mistral_client import transport
from mistral_client.bench import workload
from mistral_client.bench.cli import build_parser
from mistral_client.bench.targets import DoorTarget, EndpointTarget, FunctionUrlTarget, build_target
from mistral_client.errors import CliError
from mistral_client.standin import StandIn

STACK = "MistralEndpointStack"
OUTPUTS = {
    "InvokeUrl": "https://abcdefg.lambda-url.eu-west-1.on.aws/",
    "EndpointName": "mistral-7b-instruct-endpoint",
    "Region": "eu-west-1",
}


def description(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "StackId": f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{STACK}/0a1b2c3d",
                "CreationTime": "2026-11-27T09:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


@pytest.fixture
def cloudformation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = botocore.session.get_session().create_client("cloudformation", region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.activate()
    monkeypatch.setattr(transport, "create_client", lambda session, service, region: client)
    yield stubber
    stubber.assert_no_pending_responses()


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


def test_the_endpoint_target_takes_the_endpoint_name_and_region_from_the_stack(
    cloudformation: Stubber,
) -> None:
    cloudformation.add_response("describe_stacks", description(OUTPUTS), {"StackName": STACK})
    target = build_target(args("--stack", STACK, "--target", "endpoint"), botocore.session.Session(), 8)
    assert isinstance(target, EndpointTarget)
    assert target.endpoint_name == "mistral-7b-instruct-endpoint"
    assert target.client.meta.region_name == "eu-west-1"
    assert target.client.meta.config.max_pool_connections >= 8


def test_a_scale_to_zero_stack_names_its_inference_component_on_every_invocation(
    cloudformation: Stubber, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {**OUTPUTS, "EndpointName": stand_in.endpoint_name, "InferenceComponentName": "mistral-7b-ic"}
    cloudformation.add_response("describe_stacks", description(outputs), {"StackName": STACK})
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    target = build_target(args("--stack", STACK, "--target", "endpoint"), botocore.session.Session(), 1)
    assert isinstance(target, EndpointTarget)
    for stream in (False, True):
        assert target.send(workload.request_body(8, 2, stream=stream), stream).kind == "ok"
    assert stand_in.inference_components == ["mistral-7b-ic", "mistral-7b-ic"]


def test_the_url_target_takes_the_invoke_url_from_the_stack(cloudformation: Stubber) -> None:
    cloudformation.add_response("describe_stacks", description(OUTPUTS), {"StackName": STACK})
    target = build_target(args("--stack", STACK), botocore.session.Session(), 8)
    assert isinstance(target, FunctionUrlTarget)
    assert target.url == "https://abcdefg.lambda-url.eu-west-1.on.aws/generate"
    assert target._signer is not None and target._signer.region == "eu-west-1"


def test_a_stack_without_an_endpoint_name_output_is_a_clear_error(cloudformation: Stubber) -> None:
    cloudformation.add_response(
        "describe_stacks", description({"InvokeUrl": OUTPUTS["InvokeUrl"]}), {"StackName": STACK}
    )
    with pytest.raises(CliError, match="has no EndpointName output \\(outputs: InvokeUrl\\)"):
        build_target(args("--stack", STACK, "--target", "endpoint"), botocore.session.Session(), 8)


def test_a_missing_stack_is_a_clear_error(cloudformation: Stubber) -> None:
    cloudformation.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist", 400
    )
    with pytest.raises(CliError, match="Could not read stack 'MistralEndpointStack'"):
        build_target(args("--stack", STACK, "--target", "endpoint"), botocore.session.Session(), 8)


def test_without_a_target_the_command_says_what_to_pass() -> None:
    with pytest.raises(CliError, match="--url URL, --endpoint-name NAME, or --stack STACK_NAME"):
        build_target(args(), botocore.session.Session(), 8)


# --- the private door (issue 16): --door, --service and --api-id, as mistral-invoke takes them ------------------

PRIVATE_API_URL = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/"


def test_door_private_benchmarks_the_private_api_signed_for_execute_api(cloudformation: Stubber) -> None:
    outputs = {**OUTPUTS, "PrivateApiUrl": PRIVATE_API_URL}
    cloudformation.add_response("describe_stacks", description(outputs), {"StackName": STACK})
    target = build_target(args("--stack", STACK, "--door", "private"), botocore.session.Session(), 8)
    assert isinstance(target, DoorTarget)
    assert target.url == PRIVATE_API_URL + "generate"
    assert target.name == f"private API {PRIVATE_API_URL}"
    assert target._signer is not None
    assert target._signer.scope(target.url) == ("execute-api", "eu-west-1")


def test_a_stack_with_only_the_private_door_is_benchmarked_there(cloudformation: Stubber) -> None:
    outputs = {
        "PrivateApiUrl": PRIVATE_API_URL,
        "EndpointName": OUTPUTS["EndpointName"],
        "Region": "eu-west-1",
    }
    cloudformation.add_response("describe_stacks", description(outputs), {"StackName": STACK})
    target = build_target(args("--stack", STACK), botocore.session.Session(), 8)
    assert isinstance(target, DoorTarget)
    assert target.url == PRIVATE_API_URL + "generate"


def test_door_private_on_a_stack_without_it_says_which_doors_there_are(cloudformation: Stubber) -> None:
    cloudformation.add_response("describe_stacks", description(OUTPUTS), {"StackName": STACK})
    with pytest.raises(CliError, match=r"has no private door .*its doors: url \(InvokeUrl\)"):
        build_target(args("--stack", STACK, "--door", "private"), botocore.session.Session(), 8)


def test_a_vpc_endpoint_host_needs_the_api_id_which_the_signer_then_sends() -> None:
    vpce = "https://vpce-0a1b2c3d4e5f67890-abcdefgh.execute-api.eu-west-1.vpce.amazonaws.com/prod/"
    with pytest.raises(CliError, match="pass --api-id"):
        build_target(args("--url", vpce), botocore.session.Session(), 8)
    target = build_target(args("--url", vpce, "--api-id", "a1b2c3d4e5"), botocore.session.Session(), 8)
    assert isinstance(target, DoorTarget)
    assert target._signer is not None and target._signer.api_id == "a1b2c3d4e5"
    assert target._signer.scope(target.url) == ("execute-api", "eu-west-1")


def test_another_host_name_signs_for_the_service_given() -> None:
    with pytest.raises(CliError, match="--service lambda or --service execute-api"):
        build_target(args("--url", "https://llm.example.com/prod/"), botocore.session.Session(), 8)
    target = build_target(
        args("--url", "https://llm.example.com/prod/", "--service", "execute-api", "--region", "eu-west-1"),
        botocore.session.Session(),
        8,
    )
    assert isinstance(target, DoorTarget) and target._signer is not None
    assert target._signer.scope(target.url) == ("execute-api", "eu-west-1")


@pytest.mark.parametrize("flag", [["--door", "private"], ["--service", "lambda"], ["--api-id", "a1b2c3d4e5"]])
def test_door_flags_with_the_endpoint_target_are_refused(flag: list[str]) -> None:
    with pytest.raises(CliError, match="chooses a door of the proxy; --target endpoint calls"):
        build_target(
            args("--endpoint-name", "ep", "--target", "endpoint", *flag), botocore.session.Session(), 8
        )
