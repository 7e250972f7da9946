"""The streaming proxy in the template: a RESPONSE_STREAM function URL (IAM auth kept), the Lambda Web Adapter
layer resolved per region, and with ``streaming=False`` today's buffered function."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from synth_helpers import REPO, new_app, only, template_of

from mistral_endpoint import ConfigurationError, InvokeProxy, MistralModelEndpoint
from mistral_endpoint import _web_adapter as web_adapter
from mistral_endpoint.proxy import HANDLER, STREAMING_HANDLER
from mistral_endpoint.regions import FUNCTION_URL_UNSUPPORTED_REGIONS, TGI_REGIONS


def function(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::Lambda::Function")["Properties"]


def url(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::Lambda::Url")["Properties"]


def layer_mapping(template: dict[str, Any]) -> dict[str, Any]:
    (mapping,) = [v for k, v in template.get("Mappings", {}).items() if "WebAdapterLayers" in k]
    return {region: row["arn"] for region, row in mapping.items()}


# --- streaming (the default) --------------------------------------------------------------------------


def test_the_default_function_url_streams_with_iam_auth(template: dict[str, Any]) -> None:
    assert (url(template)["InvokeMode"], url(template)["AuthType"]) == ("RESPONSE_STREAM", "AWS_IAM")


def test_the_streaming_function_runs_the_http_app_under_the_web_adapter(template: dict[str, Any]) -> None:
    variables = function(template)["Environment"]["Variables"]
    assert function(template)["Handler"] == STREAMING_HANDLER == "run.sh"
    assert {k: variables[k] for k in web_adapter.ENVIRONMENT} == {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        "AWS_LWA_INVOKE_MODE": "response_stream",
        "AWS_LWA_PORT": "8080",
        "AWS_LWA_READINESS_CHECK_PATH": "/health",
        "AWS_LWA_ENABLE_COMPRESSION": "false",
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH": "true",
    }


def test_the_layer_comes_from_a_mapping_by_deploy_region(template: dict[str, Any]) -> None:
    (layer,) = function(template)["Layers"]
    assert layer["Fn::FindInMap"][1:] == [{"Ref": "AWS::Region"}, "arn"]


def test_the_mapping_covers_every_admitted_region_where_the_layer_is_published(
    template: dict[str, Any],
) -> None:
    admitted = TGI_REGIONS - FUNCTION_URL_UNSUPPORTED_REGIONS
    mapping = layer_mapping(template)
    assert set(mapping) == {
        r for r in admitted if not r.startswith(("us-gov-", "us-iso", "eu-isoe-", "eusc-"))
    }
    assert mapping["us-east-1"] == "arn:aws:lambda:us-east-1:753240598075:layer:LambdaAdapterLayerX86:26"
    assert mapping["cn-north-1"] == "arn:aws-cn:lambda:cn-north-1:041581134020:layer:LambdaAdapterLayerX86:26"
    assert mapping["cn-northwest-1"] == (
        "arn:aws-cn:lambda:cn-northwest-1:069767869989:layer:LambdaAdapterLayerX86:26"
    )


def test_region_agnostic_template_refuses_regions_without_the_layer(template: dict[str, Any]) -> None:
    regions, region = template["Rules"]["WebAdapterLayerRegion"]["Assertions"][0]["Assert"]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"}
    assert set(regions) == set(layer_mapping(template))


def test_a_pinned_region_gets_the_layer_arn_itself_and_no_rule() -> None:
    template = template_of("pinned_region")
    assert function(template)["Layers"] == [
        "arn:aws:lambda:eu-west-1:753240598075:layer:LambdaAdapterLayerX86:26"
    ]
    assert "WebAdapterLayerRegion" not in template["Rules"]


def test_the_streaming_function_may_still_invoke_only_its_endpoint_with_a_stream(
    template: dict[str, Any],
) -> None:
    (policy,) = [
        v["Properties"]["PolicyDocument"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::ManagedPolicy" and "ProxyPolicy" in k
    ]
    (invoke,) = [
        s for s in policy["Statement"] if "sagemaker:InvokeEndpointWithResponseStream" in s["Action"]
    ]
    endpoint_name = only(template, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert json.dumps(invoke["Resource"]).endswith(f':endpoint/{endpoint_name}"]]}}')


def stack_in(region: str) -> cdk.Stack:
    return cdk.Stack(new_app(), "S", env=cdk.Environment(account="111122223333", region=region))


def endpoint_in(stack: cdk.Stack) -> MistralModelEndpoint:
    return MistralModelEndpoint.from_endpoint_attributes(stack, "Endpoint", endpoint_name="ep")  # type: ignore[no-any-return]


def test_a_stack_pinned_where_the_layer_is_not_published_fails_at_synth() -> None:
    stack = stack_in("us-gov-west-1")
    with pytest.raises(ConfigurationError, match=r"pinned to us-gov-west-1.*Web Adapter.*streaming=False"):
        InvokeProxy(stack, "Proxy", endpoint=endpoint_in(stack))


def test_a_buffered_proxy_needs_no_layer_there() -> None:
    stack = stack_in("us-gov-west-1")
    # Constructing is the check (synthesizing would stop at CloudFormation's own function URL region check).
    assert InvokeProxy(stack, "Proxy", endpoint=endpoint_in(stack), streaming=False).streaming is False


def test_your_own_layer_copy_replaces_the_public_one() -> None:
    stack = stack_in("us-east-1")
    arn = "arn:aws:lambda:us-east-1:111122223333:layer:MyWebAdapter:3"
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Mine", arn)
    InvokeProxy(stack, "Proxy", endpoint=endpoint_in(stack), web_adapter_layer=layer)
    assert function(cdk.assertions.Template.from_stack(stack).to_json())["Layers"] == [arn]


def test_the_start_script_is_executable_in_the_repository_and_in_the_staged_asset() -> None:
    assert (REPO / "lambda" / "run.sh").stat().st_mode & stat.S_IXUSR
    stack = stack_in("us-east-1")
    InvokeProxy(stack, "Proxy", endpoint=endpoint_in(stack))
    assembly = stack.node.root.synth()  # type: ignore[attr-defined]
    (staged,) = [p for p in Path(assembly.directory).glob("asset.*") if (p / "run.sh").exists()]
    assert os.stat(staged / "run.sh").st_mode & stat.S_IXUSR
    assert (staged / "run.sh").read_text().splitlines()[-1].endswith("-m invoke_proxy.http_server")


# --- streaming=False: today's buffered function --------------------------------------------------------


def test_streaming_off_is_the_buffered_function() -> None:
    template = template_of("streaming_off")
    assert url(template)["InvokeMode"] == "BUFFERED" and url(template)["AuthType"] == "AWS_IAM"
    assert function(template)["Handler"] == HANDLER
    assert "Layers" not in function(template)
    assert not set(web_adapter.ENVIRONMENT) & set(function(template)["Environment"]["Variables"])
    assert not [k for k in template["Mappings"] if "WebAdapter" in k]
    assert "WebAdapterLayerRegion" not in template["Rules"]
