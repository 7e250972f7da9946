"""``mistral-invoke preflight``: every AWS answer it reads, stubbed with botocore's Stubber, and the verdicts."""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from invoke_proxy.regions import INFERENCE_COMPONENTS, WEB_ADAPTER_LAYER
from mistral_client import cli, signing

NOW = datetime.datetime(2026, 11, 27, tzinfo=datetime.UTC)
QUOTA_CODE = "L-TEST0001"


class Aws:
    """Real botocore clients for us-east-1 behind Stubbers, handed to the CLI through its session."""

    def __init__(self, region: str = "us-east-1") -> None:
        self.session = botocore.session.Session()
        self.clients = {
            name: self.session.create_client(name, region_name=region)
            for name in ("service-quotas", "sagemaker", "cloudformation")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        self.regions: list[str | None] = []
        self.session.create_client = self._client

    def _client(self, service: str, region_name: str | None = None, **_: Any) -> Any:
        self.regions.append(region_name)
        return self.clients[service]

    @property
    def quotas(self) -> Stubber:
        return self.stubs["service-quotas"]

    @property
    def sagemaker(self) -> Stubber:
        return self.stubs["sagemaker"]

    @property
    def cloudformation(self) -> Stubber:
        return self.stubs["cloudformation"]

    def deny(self, stub: Stubber, operation: str, code: str = "AccessDeniedException") -> None:
        stub.add_client_error(
            operation,
            service_error_code=code,
            service_message=f"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: {operation}",
            http_status_code=403,
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    fake = Aws()
    monkeypatch.setattr(signing, "make_session", lambda profile: fake.session)
    for stub in fake.stubs.values():
        stub.activate()
    yield fake
    for stub in fake.stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def preflight(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["preflight", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by check name: [status, found, needed, what to do], split on the column gaps."""
    lines = out.splitlines()
    header = lines[0]
    starts = [header.index(name) for name in ("check", "status", "found", "needed", "what to do")]
    table: dict[str, list[str]] = {}
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        table[cells[0]] = cells[1:]
    return table


# --- AWS answers ------------------------------------------------------------------------------------------


def quota(name: str, value: float, code: str = QUOTA_CODE) -> dict[str, Any]:
    return {
        "ServiceCode": "sagemaker",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": value,
        "Adjustable": True,
    }


def answer_quota(aws: Aws, value: float, instance_type: str = "ml.g5.2xlarge") -> None:
    """Two pages, the quota on the second: the search must follow NextToken."""
    aws.quotas.add_response(
        "list_service_quotas",
        {"Quotas": [quota("ml.g5.xlarge for endpoint usage", 4, "L-OTHER001")], "NextToken": "page-2"},
        {"ServiceCode": "sagemaker", "MaxResults": 100},
    )
    aws.quotas.add_response(
        "list_service_quotas",
        {"Quotas": [quota(f"{instance_type} for endpoint usage", value)]},
        {"ServiceCode": "sagemaker", "MaxResults": 100, "NextToken": "page-2"},
    )


def answer_bootstrap(aws: Aws, version: str = "28", status: str = "UPDATE_COMPLETE") -> None:
    aws.cloudformation.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "CDKToolkit",
                    "CreationTime": NOW,
                    "StackStatus": status,
                    "Outputs": [{"OutputKey": "BootstrapVersion", "OutputValue": version}],
                }
            ]
        },
        {"StackName": "CDKToolkit"},
    )


def answer_no_stack(aws: Aws, name: str) -> None:
    aws.cloudformation.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {name} does not exist",
        http_status_code=400,
        expected_params={"StackName": name},
    )


def answer_no_endpoint(aws: Aws, name: str) -> None:
    aws.sagemaker.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint "{name}".',
        http_status_code=400,
        expected_params={"EndpointName": name},
    )


def answer_endpoint(aws: Aws, name: str) -> None:
    aws.sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": name,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
            "EndpointStatus": "InService",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        },
        {"EndpointName": name},
    )


def answer_app_stack(aws: Aws, endpoint_name: str) -> None:
    aws.cloudformation.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "MistralEndpointStack",
                    "CreationTime": NOW,
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": "EndpointName", "OutputValue": endpoint_name}],
                }
            ]
        },
        {"StackName": "MistralEndpointStack"},
    )


def answer_inference_components(aws: Aws) -> None:
    aws.sagemaker.add_response("list_inference_components", {"InferenceComponents": []}, {"MaxResults": 1})


def all_good(aws: Aws, quota_value: float = 4) -> None:
    answer_quota(aws, quota_value)
    answer_bootstrap(aws)


# --- all good -----------------------------------------------------------------------------------------------


def test_all_good_exits_0_with_a_table_of_ok_rows(aws: Aws) -> None:
    all_good(aws)
    code, out, err = preflight("--region", "us-east-1")
    table = rows(out)
    assert code == 0, out + err
    assert table["quota: ml.g5.2xlarge for endpoint usage"][:3] == [
        "ok",
        f"4 ({QUOTA_CODE})",
        "2 (maxCapacity)",
    ]
    assert table["quota: blue/green update at max"][:3] == ["ok", f"4 ({QUOTA_CODE})", "4 (2 x maxCapacity)"]
    assert table["TGI 1.1 image in region"][0] == "ok"
    assert table["Lambda function URLs"][0] == "ok"
    assert table["Lambda Web Adapter layer (streaming)"][0] == "ok"
    assert table["CDK bootstrap stack CDKToolkit"][:2] == ["ok", "UPDATE_COMPLETE, version 28"]
    assert table["endpoint name free"][0] == "skipped"
    assert not [name for name in table if name.startswith("inference components")]
    assert err == "preflight (us-east-1, ml.g5.2xlarge x up to 2, always on): ready to deploy.\n"
    assert set(aws.regions) == {"us-east-1"}


def test_the_region_comes_from_the_profile_when_not_given(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    all_good(aws)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert preflight()[0] == 0
    assert set(aws.regions) == {"us-east-1"}


def test_no_region_at_all_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, out, err = preflight()
    assert (code, out) == (1, "")
    assert err == "error: preflight needs a region: pass --region R (or set one in your AWS profile).\n"


def test_json_prints_the_rows(aws: Aws) -> None:
    all_good(aws)
    code, out, _ = preflight("--region", "us-east-1", "--json")
    answer = {row["check"]: row for row in json.loads(out)}
    assert code == 0
    assert answer["quota: ml.g5.2xlarge for endpoint usage"] == {
        "check": "quota: ml.g5.2xlarge for endpoint usage",
        "status": "ok",
        "found": f"4 ({QUOTA_CODE})",
        "needed": "2 (maxCapacity)",
        "action": "",
    }


# --- quota --------------------------------------------------------------------------------------------------


def test_a_zero_quota_fails_and_says_how_to_raise_it(aws: Aws) -> None:
    all_good(aws, quota_value=0)
    code, out, err = preflight("--region", "us-east-1")
    status, found, _, action = rows(out)["quota: ml.g5.2xlarge for endpoint usage"]
    assert (code, status, found) == (1, "FAIL", f"0 ({QUOTA_CODE})")
    assert action == (
        "the endpoint cannot start one instance; request 4 or more: aws service-quotas "
        f"request-service-quota-increase --service-code sagemaker --quota-code {QUOTA_CODE} --desired-value 4 "
        "--region us-east-1"
    )
    assert "the deploy would fail: quota: ml.g5.2xlarge for endpoint usage" in err


def test_a_quota_below_max_instances_fails(aws: Aws) -> None:
    all_good(aws, quota_value=1)
    code, out, _ = preflight("--region", "us-east-1", "--max-instances", "2")
    status, _, _, action = rows(out)["quota: ml.g5.2xlarge for endpoint usage"]
    assert (code, status) == (1, "FAIL")
    assert action.startswith("autoscaling could not go past 1: lower maxCapacity to 1, or request 4 or more")


def test_a_quota_that_fits_max_but_not_a_blue_green_update_warns_and_exits_0(aws: Aws) -> None:
    all_good(aws, quota_value=2)
    code, out, _ = preflight("--region", "us-east-1")
    table = rows(out)
    assert code == 0
    assert table["quota: ml.g5.2xlarge for endpoint usage"][0] == "ok"
    status, _, needed, action = table["quota: blue/green update at max"]
    assert (status, needed) == ("warn", "4 (2 x maxCapacity)")
    assert action.startswith("an update fails when more than 1 of 2 instances run; request 4 or more")


def test_a_quota_without_an_applied_value_is_read_from_the_aws_defaults(aws: Aws) -> None:
    aws.quotas.add_response(
        "list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker", "MaxResults": 100}
    )
    aws.quotas.add_response(
        "list_aws_default_service_quotas",
        {"Quotas": [quota("ML.G5.2XLARGE for endpoint usage", 0)]},
        {"ServiceCode": "sagemaker", "MaxResults": 100},
    )
    answer_bootstrap(aws)
    code, out, _ = preflight("--region", "us-east-1")
    assert (code, rows(out)["quota: ml.g5.2xlarge for endpoint usage"][0]) == (1, "FAIL")


def test_an_instance_type_without_a_quota_fails(aws: Aws) -> None:
    aws.quotas.add_response(
        "list_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker", "MaxResults": 100}
    )
    aws.quotas.add_response(
        "list_aws_default_service_quotas", {"Quotas": []}, {"ServiceCode": "sagemaker", "MaxResults": 100}
    )
    answer_bootstrap(aws)
    code, out, _ = preflight("--region", "us-east-1", "--instance-type", "ml.g5.3xlarge")
    status, found, _, action = rows(out)["quota: ml.g5.3xlarge for endpoint usage"]
    assert (code, status, found) == (1, "FAIL", "no such quota in this region")
    assert "SageMaker may not offer ml.g5.3xlarge" in action


def test_quota_access_denied_is_a_clear_unknown_row_and_exit_3(aws: Aws) -> None:
    aws.deny(aws.quotas, "list_service_quotas")
    answer_bootstrap(aws)
    code, out, err = preflight("--region", "us-east-1")
    status, found, _, action = rows(out)["quota: ml.g5.2xlarge for endpoint usage"]
    assert (code, status, found) == (3, "unknown", "not checked: access denied (AccessDeniedException)")
    assert action == (
        "allow servicequotas:ListServiceQuotas and servicequotas:ListAWSDefaultServiceQuotas for the caller, "
        "then run preflight again"
    )
    assert "some checks could not be made" in err
    assert "Traceback" not in out + err


# --- region support -----------------------------------------------------------------------------------------


def test_a_region_without_function_urls_fails(aws: Aws) -> None:
    all_good(aws)
    code, out, _ = preflight("--region", "eu-central-2")
    table = rows(out)
    assert code == 1
    assert table["Lambda function URLs"][:2] == ["FAIL", "not offered in eu-central-2"]
    assert table["TGI 1.1 image in region"][0] == "ok"


def test_a_region_without_the_tgi_image_fails_and_lists_where_it_is(aws: Aws) -> None:
    all_good(aws)
    code, out, _ = preflight("--region", "xx-test-1")
    status, found, _, action = rows(out)["TGI 1.1 image in region"]
    assert (code, status, found) == (1, "FAIL", "not published in xx-test-1")
    assert "us-east-1" in action


def test_scale_to_zero_checks_inference_components(aws: Aws) -> None:
    answer_quota(aws, 4)
    answer_inference_components(aws)
    answer_bootstrap(aws)
    code, out, err = preflight("--region", "us-east-1", "--scale-to-zero")
    status, found, needed, action = rows(out)["inference components API (scaleToZero)"]
    assert (code, status, found) == (0, "ok", "API answers")
    assert "MinInstanceCount 0" in needed
    assert "cannot be checked before a deploy" in action
    assert "scale to zero" in err


def test_inference_components_access_denied_is_unknown(aws: Aws) -> None:
    answer_quota(aws, 4)
    aws.deny(aws.sagemaker, "list_inference_components")
    answer_bootstrap(aws)
    code, out, _ = preflight("--region", "us-east-1", "--scale-to-zero")
    status, found, _, action = rows(out)["inference components API (scaleToZero)"]
    assert (code, status, found) == (3, "unknown", "not checked: access denied (AccessDeniedException)")
    assert "sagemaker:ListInferenceComponents" in action


def test_inference_components_not_offered_fails(aws: Aws) -> None:
    answer_quota(aws, 4)
    aws.sagemaker.add_client_error(
        "list_inference_components", service_error_code="UnknownOperationException", http_status_code=400
    )
    answer_bootstrap(aws)
    code, out, _ = preflight("--region", "us-east-1", "--scale-to-zero")
    assert (code, rows(out)["inference components API (scaleToZero)"][0]) == (1, "FAIL")


# --- bootstrap ----------------------------------------------------------------------------------------------


def test_a_missing_bootstrap_stack_fails_and_says_how_to_bootstrap(aws: Aws) -> None:
    answer_quota(aws, 4)
    answer_no_stack(aws, "CDKToolkit")
    code, out, _ = preflight("--region", "us-east-1")
    assert code == 1
    assert rows(out)["CDK bootstrap stack CDKToolkit"] == [
        "FAIL",
        "missing",
        "bootstrapped, version >= 6",
        "run: cdk bootstrap aws://<account>/us-east-1",
    ]


def test_a_custom_toolkit_stack_name_is_read_and_named_in_the_advice(aws: Aws) -> None:
    answer_quota(aws, 4)
    answer_no_stack(aws, "MyToolkit")
    _, out, _ = preflight("--region", "us-east-1", "--toolkit-stack-name", "MyToolkit")
    assert rows(out)["CDK bootstrap stack MyToolkit"][3] == (
        "run: cdk bootstrap aws://<account>/us-east-1 --toolkit-stack-name MyToolkit"
    )


def test_an_old_bootstrap_version_fails(aws: Aws) -> None:
    answer_quota(aws, 4)
    answer_bootstrap(aws, version="5")
    code, out, _ = preflight("--region", "us-east-1")
    assert (code, rows(out)["CDK bootstrap stack CDKToolkit"][0]) == (1, "FAIL")


def test_a_failed_bootstrap_stack_fails(aws: Aws) -> None:
    answer_quota(aws, 4)
    answer_bootstrap(aws, status="ROLLBACK_COMPLETE")
    code, out, _ = preflight("--region", "us-east-1")
    assert "delete the stack CDKToolkit" in rows(out)["CDK bootstrap stack CDKToolkit"][3]
    assert code == 1


def test_bootstrap_access_denied_is_unknown(aws: Aws) -> None:
    answer_quota(aws, 4)
    aws.deny(aws.cloudformation, "describe_stacks", code="AccessDenied")
    code, out, _ = preflight("--region", "us-east-1")
    status, found, _, action = rows(out)["CDK bootstrap stack CDKToolkit"]
    assert (code, status, found) == (3, "unknown", "not checked: access denied (AccessDenied)")
    assert "cloudformation:DescribeStacks" in action


# --- endpoint name ------------------------------------------------------------------------------------------


def test_a_free_endpoint_name_is_ok(aws: Aws) -> None:
    all_good(aws)
    answer_no_endpoint(aws, "mistral")
    code, out, _ = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    assert (code, rows(out)["endpoint name free"][:2]) == (0, ["ok", "no such endpoint"])


def test_an_endpoint_that_already_exists_elsewhere_fails(aws: Aws) -> None:
    all_good(aws)
    answer_endpoint(aws, "mistral")
    answer_no_stack(aws, "MistralEndpointStack")
    code, out, _ = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    status, found, _, action = rows(out)["endpoint name free"]
    assert (code, status, found) == (1, "FAIL", "exists (InService), not MistralEndpointStack's")
    assert action.endswith("aws sagemaker delete-endpoint --endpoint-name mistral --region us-east-1")


def test_the_stacks_own_endpoint_is_an_update_not_a_conflict(aws: Aws) -> None:
    all_good(aws)
    answer_endpoint(aws, "mistral")
    answer_app_stack(aws, "mistral")
    code, out, _ = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    status, found, _, action = rows(out)["endpoint name free"]
    assert (code, status, action) == (0, "ok", "the deploy updates it")
    assert found == "exists (InService), MistralEndpointStack's own"


def test_describe_endpoint_access_denied_is_unknown(aws: Aws) -> None:
    all_good(aws)
    aws.deny(aws.sagemaker, "describe_endpoint")
    code, out, _ = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    status, found, _, action = rows(out)["endpoint name free"]
    assert (code, status, found) == (3, "unknown", "not checked: access denied (AccessDeniedException)")
    assert "sagemaker:DescribeEndpoint" in action


def test_owner_lookup_access_denied_is_unknown(aws: Aws) -> None:
    all_good(aws)
    answer_endpoint(aws, "mistral")
    aws.deny(aws.cloudformation, "describe_stacks", code="AccessDenied")
    code, out, _ = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    assert (code, rows(out)["endpoint name free"][:2]) == (
        3,
        ["unknown", "exists (InService); owner not checked (AccessDenied)"],
    )


def test_a_network_failure_is_a_row_not_a_traceback(aws: Aws) -> None:
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://servicequotas.us-east-1.amazonaws.com/")

    aws.clients["service-quotas"].list_service_quotas = unreachable
    answer_bootstrap(aws)
    code, out, _ = preflight("--region", "us-east-1")
    status, found, _, _ = rows(out)["quota: ml.g5.2xlarge for endpoint usage"]
    assert (code, status) == (3, "unknown")
    assert found.startswith("not checked: EndpointConnectionError: Could not connect to the endpoint URL")


# --- the app's context --------------------------------------------------------------------------------------


def test_context_flags_set_instance_type_max_instances_and_scale_to_zero(aws: Aws) -> None:
    answer_quota(aws, 6, instance_type="ml.g5.4xlarge")
    answer_inference_components(aws)
    answer_bootstrap(aws)
    code, out, err = preflight(
        "--region",
        "us-east-1",
        "-c",
        "instanceType=ml.g5.4xlarge",
        "-c",
        "maxCapacity=3",
        "-c",
        "scaleToZero=true",
    )
    table = rows(out)
    assert code == 0, out + err
    assert table["quota: ml.g5.4xlarge for endpoint usage"][:3] == [
        "ok",
        f"6 ({QUOTA_CODE})",
        "3 (maxCapacity)",
    ]
    assert "inference components API (scaleToZero)" in table


def test_the_earlier_spelling_max_instances_is_still_read(aws: Aws) -> None:
    answer_quota(aws, 6)
    answer_bootstrap(aws)
    code, out, err = preflight("--region", "us-east-1", "-c", "maxInstances=3")
    assert rows(out)["quota: ml.g5.2xlarge for endpoint usage"][2] == "3 (maxCapacity)", out + err
    assert code == 0


def test_the_context_file_is_read_and_flags_win(aws: Aws, tmp_path: Path) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(
        json.dumps({"app": "python app.py", "context": {"instanceType": "ml.g5.4xlarge", "maxCapacity": 5}})
    )
    answer_quota(aws, 6, instance_type="ml.g5.4xlarge")
    answer_bootstrap(aws)
    code, out, _ = preflight("--region", "us-east-1", "--context-file", str(cdk_json), "--max-instances", "3")
    assert rows(out)["quota: ml.g5.4xlarge for endpoint usage"][2] == "3 (maxCapacity)"
    assert code == 0


def test_the_projects_own_cdk_json_is_accepted(aws: Aws) -> None:
    all_good(aws)
    cdk_json = Path(__file__).resolve().parents[2] / "cdk.json"
    code, _, _ = preflight("--region", "us-east-1", "--context-file", str(cdk_json))
    assert code == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-c", "maxCapacity=many"], "error: context maxCapacity='many': use a whole number"),
        (["-c", "scaleToZero=yes"], "error: context scaleToZero='yes': use true or false"),
        (["-c", "maxInstances"], "error: -c 'maxInstances': use key=value"),
        (
            ["--context-file", "/nonexistent/cdk.json"],
            "error: Could not read --context-file /nonexistent/cdk.json",
        ),
        (["--max-instances", "0"], "error: --max-instances 0: use 1 or more"),
    ],
)
def test_bad_input_is_refused_before_any_call(argv: list[str], message: str) -> None:
    code, out, err = preflight("--region", "us-east-1", *argv)
    assert (code, out) == (1, "")
    assert err.startswith(message)


def test_preflight_does_not_load_the_cdk() -> None:
    code = (
        "import sys; from mistral_client import cli; cli.build_parser().parse_args(['preflight']); "
        "print('aws_cdk' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "False"


def test_other_context_keys_are_ignored(aws: Aws) -> None:
    all_good(aws)
    code, _, _ = preflight("--region", "us-east-1", "-c", "model=base", "-c", "proxyInVpc=false")
    assert code == 0


# --- region rules: synth's own, with synth's words --------------------------------------------------------


def test_the_region_rows_come_first_in_synths_order(aws: Aws) -> None:
    answer_quota(aws, 4)
    answer_inference_components(aws)
    answer_bootstrap(aws)
    _, out, _ = preflight("--region", "us-east-1", "--scale-to-zero")
    assert list(rows(out))[:5] == [
        "TGI 1.1 image in region",
        "inference components in CloudFormation (scaleToZero)",
        "Lambda function URLs",
        "Lambda Web Adapter layer (streaming)",
        "quota: ml.g5.2xlarge for endpoint usage",
    ]


def test_scale_to_zero_in_a_region_without_components_in_cloudformation_fails_with_synths_reason(
    aws: Aws,
) -> None:
    all_good(aws)  # no ListInferenceComponents answer: the call is not made
    code, out, err = preflight("--region", "eu-west-3", "--scale-to-zero", "--json")
    (row,) = [r for r in json.loads(out) if r["status"] == "FAIL"]
    assert code == 1
    assert row["check"] == "inference components in CloudFormation (scaleToZero)"
    assert row["found"] == "not offered in eu-west-3"
    assert row["action"] == INFERENCE_COMPONENTS.message
    assert "the deploy would fail: inference components in CloudFormation (scaleToZero)" in err


def test_a_region_without_the_web_adapter_layer_fails_while_streaming(aws: Aws) -> None:
    all_good(aws)
    code, out, _ = preflight("--region", "us-gov-west-1")
    status, found, _, action = rows(out)["Lambda Web Adapter layer (streaming)"]
    assert (code, status, found) == (1, "FAIL", "not published in us-gov-west-1")
    assert action == WEB_ADAPTER_LAYER.message


@pytest.mark.parametrize("argv", [["--no-streaming"], ["-c", "streaming=false"]])
def test_the_buffered_proxy_needs_no_layer(aws: Aws, argv: list[str]) -> None:
    all_good(aws)
    code, out, err = preflight("--region", "us-gov-west-1", *argv)
    assert code == 0, out + err
    assert "Lambda Web Adapter layer (streaming)" not in rows(out)
    assert "always on, buffered proxy" in err


def test_a_stack_with_its_own_layer_needs_no_public_one(aws: Aws) -> None:
    all_good(aws)
    layer = "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:layer:LambdaAdapterLayerX86:26"
    code, out, _ = preflight("--region", "us-gov-west-1", "--web-adapter-layer", layer)
    assert code == 0
    assert "Lambda Web Adapter layer (streaming)" not in rows(out)


def test_no_scale_to_zero_wins_over_the_context(aws: Aws) -> None:
    all_good(aws)
    code, out, _ = preflight("--region", "eu-west-3", "-c", "scaleToZero=true", "--no-scale-to-zero")
    assert code == 0
    assert not [name for name in rows(out) if name.startswith("inference components")]


# --- without credentials ------------------------------------------------------------------------------------


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


ACCOUNT_CHECKS = [
    "quota: ml.g5.2xlarge for endpoint usage",
    "quota: blue/green update at max",
    "CDK bootstrap stack CDKToolkit",
    "endpoint name free",
]


@pytest.mark.usefixtures("no_credentials")
def test_without_credentials_the_region_checks_run_and_the_account_checks_are_skipped_with_exit_3() -> None:
    code, out, _ = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    table = rows(out)
    assert code == 3
    assert table["TGI 1.1 image in region"][0] == "ok"
    assert table["Lambda Web Adapter layer (streaming)"][0] == "ok"
    for name in ACCOUNT_CHECKS:
        status, found, _, action = table[name]
        assert (status, found) == ("skipped", "not checked: no AWS credentials")
        assert action.startswith("give preflight credentials: AWS_PROFILE=<profile>")
        assert "aws sso login --profile <profile>" in action


@pytest.mark.usefixtures("no_credentials")
def test_without_credentials_the_verdict_names_the_skipped_checks_and_how_to_give_credentials() -> None:
    _, _, err = preflight("--region", "us-east-1", "--endpoint-name", "mistral")
    verdict, skipped = err.splitlines()
    assert verdict == (
        "preflight (us-east-1, ml.g5.2xlarge x up to 2, always on): no region check fails, but the account "
        "checks were not made."
    )
    assert skipped.startswith(f"The account checks were skipped ({', '.join(ACCOUNT_CHECKS)}): ")
    assert "AWS_PROFILE=<profile>" in skipped and "aws sso login" in skipped
    assert "ready to deploy" not in err and "no failure found" not in err


@pytest.mark.usefixtures("no_credentials")
def test_without_credentials_a_region_synth_refuses_still_fails_with_exit_1() -> None:
    code, out, err = preflight("--region", "eu-west-3", "--scale-to-zero")
    table = rows(out)
    assert code == 1
    assert table["inference components in CloudFormation (scaleToZero)"][0] == "FAIL"
    assert table["quota: ml.g5.2xlarge for endpoint usage"][0] == "skipped"
    assert err.startswith(
        "preflight (eu-west-3, ml.g5.2xlarge x up to 2, scale to zero): the deploy would fail"
    )
    assert "The account checks were skipped" in err


@pytest.mark.usefixtures("no_credentials")
def test_without_credentials_the_component_api_check_is_skipped_too() -> None:
    _, out, _ = preflight("--region", "us-east-1", "--scale-to-zero")
    assert rows(out)["inference components API (scaleToZero)"][:2] == [
        "skipped",
        "not checked: no AWS credentials",
    ]


class ExpiredSsoSession:
    """A profile whose SSO session has expired: credentials exist but cannot be resolved; no client may be made."""

    def get_config_variable(self, name: str) -> str | None:
        return "us-east-1" if name == "region" else None

    def get_credentials(self) -> Any:
        from botocore.exceptions import UnauthorizedSSOTokenError

        class Expired:
            def get_frozen_credentials(self) -> Any:
                raise UnauthorizedSSOTokenError()

        return Expired()

    def create_client(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("no call without credentials")


def test_an_expired_sso_session_skips_the_account_checks_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "make_session", lambda profile: ExpiredSsoSession())
    code, out, err = preflight()
    assert code == 3
    assert rows(out)["CDK bootstrap stack CDKToolkit"][:2] == [
        "skipped",
        "not checked: unusable credentials (UnauthorizedSSOTokenError)",
    ]
    assert "The SSO session associated with this profile has expired" in err


# --- the private door ---------------------------------------------------------------------------------------


@pytest.fixture
def apigateway(aws: Aws) -> Iterator[Stubber]:
    real = botocore.session.Session().create_client("apigateway", region_name="us-east-1")
    aws.clients["apigateway"] = real
    stub = Stubber(real)
    stub.activate()
    yield stub
    stub.assert_no_pending_responses()
    stub.deactivate()


LOGGING_ROW = "API Gateway CloudWatch Logs role (private door)"


def test_a_private_door_with_the_accounts_logging_role_set_is_ready(aws: Aws, apigateway: Stubber) -> None:
    all_good(aws)
    role = "arn:aws:iam::123456789012:role/apigw-logs"
    apigateway.add_response("get_account", {"cloudwatchRoleArn": role}, {})
    code, out, err = preflight("--region", "us-east-1", "-c", "frontDoor=private")
    table = rows(out)
    assert code == 0, out + err
    assert table[LOGGING_ROW][:2] == ["ok", role]
    assert "front door private" in err


def test_a_private_door_without_the_accounts_logging_role_fails_and_says_how_to_set_it(
    aws: Aws, apigateway: Stubber
) -> None:
    all_good(aws)
    apigateway.add_response(
        "get_account", {"throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0}}, {}
    )
    code, out, _ = preflight("--region", "us-east-1", "--front-door", "both")
    row = rows(out)[LOGGING_ROW]
    assert code == 1
    assert row[:2] == ["FAIL", "not set"]
    assert "aws apigateway update-account" in row[3] and "AmazonAPIGatewayPushToCloudWatchLogs" in row[3]


def test_the_logging_role_check_refused_is_unknown(aws: Aws, apigateway: Stubber) -> None:
    all_good(aws)
    aws.deny(apigateway, "get_account")
    code, out, _ = preflight("--region", "us-east-1", "--front-door", "private")
    assert (code, rows(out)[LOGGING_ROW][0]) == (3, "unknown")


def test_the_function_url_door_makes_no_api_gateway_call(aws: Aws) -> None:
    all_good(aws)
    code, out, _ = preflight("--region", "us-east-1")
    assert code == 0 and LOGGING_ROW not in rows(out)


def test_a_private_door_does_not_need_function_urls_in_the_region(aws: Aws, apigateway: Stubber) -> None:
    all_good(aws)
    apigateway.add_response("get_account", {"cloudwatchRoleArn": "arn:aws:iam::123456789012:role/r"}, {})
    code, out, err = preflight("--region", "eu-central-2", "--front-door", "private", "--no-streaming")
    table = rows(out)
    assert "Lambda function URLs" not in table
    assert code == 0, out + err


def test_an_unknown_front_door_is_refused(aws: Aws) -> None:
    code, _, err = preflight("--region", "us-east-1", "-c", "frontDoor=vpc")
    assert code == 1 and "frontDoor='vpc': use one of url, private, both" in err
