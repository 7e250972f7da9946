"""Construct props are checked like context: mistakes that would pass synth and fail (or cost money) later are
refused at synth, with a message naming the prop and the fix."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from synth_helpers import new_app

from mistral_endpoint import ConfigurationError, MistralEndpoint, MistralModel, ScalingSchedule


def bucket(stack: cdk.Stack, name: str = "team-models") -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, "Models", name)


# --- weights given as an S3 URI -----------------------------------------------------------------------


def test_an_s3_uri_naming_the_same_bucket_is_taken_as_its_key_prefix() -> None:
    stack = cdk.Stack(new_app(), "S")
    model = MistralModel.from_bucket(bucket(stack), "s3://team-models/mistral/v3/")
    assert model.prefix == "mistral/v3/"
    assert model.s3_uri == "s3://team-models/mistral/v3/"


def test_an_s3_uri_naming_another_bucket_is_refused_with_the_fix() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError) as error:
        MistralModel.from_bucket(bucket(stack), "s3://other-models/mistral/v3/")
    assert str(error.value) == (
        "prefix 's3://other-models/mistral/v3/' names bucket 'other-models', but the bucket given is "
        "'team-models': pass the key prefix alone ('mistral/v3/') with the bucket that holds it"
    )
    assert error.value.prop == "prefix"


def test_an_s3_uri_cannot_be_checked_against_a_bucket_named_at_deploy_time() -> None:
    stack = cdk.Stack(new_app(), "S")
    models = s3.Bucket(stack, "Models")  # its name is a token
    with pytest.raises(ConfigurationError, match=r"pass the key prefix alone, 'mistral/v3/'"):
        MistralModel.from_bucket(models, "s3://team-models/mistral/v3/")


def test_instruct_must_be_a_boolean() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError, match=r"from_bucket instruct must be True or False, got 'false'"):
        MistralModel.from_bucket(bucket(stack), "mistral/v3/", instruct="false")  # type: ignore[arg-type]


# --- schedules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/Pariss", "CET+1", "paris"])
def test_a_time_zone_the_iana_database_does_not_know_is_refused(zone: str) -> None:
    with pytest.raises(
        ConfigurationError, match=rf"schedule time_zone '{re.escape(zone)}' is not an IANA time zone"
    ):
        ScalingSchedule.business_hours(zone).check()


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"])
def test_iana_time_zones_pass(zone: str) -> None:
    ScalingSchedule.business_hours(zone).check()


def test_a_scale_to_zero_endpoint_refuses_a_schedule_in_an_unknown_time_zone() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError, match=r"'Mars/Olympus' is not an IANA time zone name"):
        MistralEndpoint(
            stack, "Mistral", scale_to_zero=True, schedule=ScalingSchedule.business_hours("Mars/Olympus")
        )


# --- related limits -----------------------------------------------------------------------------------


def test_a_scaling_target_above_what_tgi_admits_is_refused() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError) as error:
        MistralEndpoint(stack, "Mistral", max_concurrent_requests=16, target_concurrent_requests=32)
    assert str(error.value).startswith(
        "target_concurrent_requests (32) is above max_concurrent_requests (16): TGI refuses (429)"
    )
    assert error.value.prop == "target_concurrent_requests"


def test_a_scaling_target_within_what_tgi_admits_passes() -> None:
    stack = cdk.Stack(new_app(), "S")
    mistral = MistralEndpoint(stack, "Mistral", max_concurrent_requests=64, target_concurrent_requests=32)
    assert mistral.endpoint.scaling is not None


# --- the Web Adapter layer is a prop of the whole pattern ----------------------------------------------


def test_mistral_endpoint_takes_your_copy_of_the_web_adapter_layer() -> None:
    """For accounts whose policies allow no public layers: the pattern passes your copy to the proxy."""
    stack = cdk.Stack(new_app(), "S", env=cdk.Environment(account="111122223333", region="us-east-1"))
    arn = "arn:aws:lambda:us-east-1:111122223333:layer:WebAdapter:1"
    layer = lambda_.LayerVersion.from_layer_version_arn(stack, "Adapter", arn)
    mistral = MistralEndpoint(stack, "Mistral", web_adapter_layer=layer)
    functions = cdk.assertions.Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    (properties,) = (f["Properties"] for f in functions.values() if "Layers" in f["Properties"])
    assert properties["Layers"] == [arn]
    assert mistral.proxy.streaming is True


# --- booleans and token limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prop",
    ["scale_to_zero", "streaming", "monitoring", "proxy_in_vpc", "log_prompts", "create_vpc_endpoints"],
)
def test_a_string_where_a_boolean_belongs_is_refused(prop: str) -> None:
    """``scale_to_zero="false"`` is a non-empty string: Python would have taken it for true."""
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ConfigurationError) as error:
        MistralEndpoint(stack, "Mistral", **{prop: "false"})
    assert str(error.value) == f"{prop} must be True or False, got 'false'"
    assert error.value.prop == prop


def test_lowering_max_total_tokens_alone_lowers_the_input_limit_with_it() -> None:
    stack = cdk.Stack(new_app(), "S")
    mistral = MistralEndpoint(stack, "Mistral", max_total_tokens=4096)
    assert (mistral.endpoint.max_input_length, mistral.endpoint.max_total_tokens) == (4095, 4096)
    model = cdk.assertions.Template.from_stack(stack).find_resources("AWS::SageMaker::Model")
    (environment,) = (m["Properties"]["PrimaryContainer"]["Environment"] for m in model.values())
    assert (environment["MAX_INPUT_LENGTH"], environment["MAX_BATCH_PREFILL_TOKENS"]) == ("4095", "4095")


def test_an_explicit_input_limit_still_has_to_leave_room_for_a_generated_token() -> None:
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(
        ConfigurationError, match=r"max_input_length \(4096\) must be less than max_total_tokens"
    ):
        MistralEndpoint(stack, "Mistral", max_total_tokens=4096, max_input_length=4096)


def test_the_parts_refuse_string_booleans_on_their_own_too() -> None:
    from mistral_endpoint import InvokeProxy, IsolatedNetwork, MistralModelEndpoint

    stack = cdk.Stack(new_app(), "S")
    endpoint = MistralModelEndpoint.from_endpoint_attributes(stack, "Endpoint", endpoint_name="e")
    with pytest.raises(ConfigurationError, match=r"^streaming must be True or False, got 'true'$"):
        InvokeProxy(stack, "Proxy", endpoint=endpoint, streaming="true")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^create_vpc_endpoints must be True or False, got 0$"):
        IsolatedNetwork(stack, "Network", create_vpc_endpoints=0)  # type: ignore[arg-type]


# --- a prop added as the architecture page says: a field, the code that uses it, a test -----------------


def test_the_flow_log_records_what_flow_log_traffic_type_says() -> None:
    from mistral_endpoint.props import NetworkOptions

    stack = cdk.Stack(new_app(), "S")
    MistralEndpoint(stack, "Mistral", network_options=NetworkOptions(flow_log_traffic_type="REJECT"))
    template = cdk.assertions.Template.from_stack(stack)
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})


def test_an_unknown_flow_log_traffic_type_is_refused() -> None:
    from mistral_endpoint.props import NetworkOptions

    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(
        ConfigurationError, match=r"^flow_log_traffic_type must be one of ALL, ACCEPT, REJECT, got 'all'$"
    ):
        MistralEndpoint(stack, "Mistral", network_options=NetworkOptions(flow_log_traffic_type="all"))


def test_the_app_reads_flow_log_traffic_type_from_context() -> None:
    from aws_cdk import assertions

    from app import build_app

    app = build_app(new_app(flowLogTrafficType="REJECT", compliance="off"))
    template = assertions.Template.from_stack(app.node.find_child("MistralEndpointStack"))  # type: ignore[arg-type]
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "REJECT"})


def test_flow_log_traffic_type_is_refused_with_your_own_vpc() -> None:
    from synth_helpers import imported_vpc

    from mistral_endpoint.props import NetworkOptions

    stack = cdk.Stack(new_app(), "S", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    vpc = imported_vpc(stack, ["eu-west-1a", "eu-west-1b"])
    with pytest.raises(
        ConfigurationError, match=r"^flow_log_traffic_type sets the flow log of the VPC this construct"
    ):
        MistralEndpoint(
            stack, "Mistral", network_options=NetworkOptions(vpc=vpc, flow_log_traffic_type="REJECT")
        )
