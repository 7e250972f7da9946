"""Every invalid prop or context value fails at synth with a message that names the value and the fix."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from synth_helpers import imported_vpc, new_app

from mistral_endpoint import ConfigurationError, MistralEndpoint, MistralModel


def build(**props: Any) -> MistralEndpoint:
    stack = cdk.Stack(new_app(), "Props")
    return MistralEndpoint(stack, "Mistral", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"instance_type": "ml.g5.xlarge"},
            "instance_type 'ml.g5.xlarge' cannot serve Mistral 7B on TGI 1.1: use one of",
        ),
        ({"instance_type": "ml.p4d.24xlarge"}, "use one of ml.g5.2xlarge, ml.g5.4xlarge"),
        ({"initial_instance_count": 0}, "initial_instance_count must be at least 1, got 0"),
        ({"max_total_tokens": 9000}, "max_total_tokens must be between 2 and 8192, got 9000"),
        (
            {"max_input_length": 4096, "max_total_tokens": 4096},
            "max_input_length (4096) must be less than max_total_tokens (4096)",
        ),
        (
            {"max_input_length": 4000, "max_batch_prefill_tokens": 2048},
            "max_batch_prefill_tokens (2048) must be at least max_input_length (4000)",
        ),
        ({"max_concurrent_requests": 0}, "max_concurrent_requests must be at least 1, got 0"),
        ({"max_input_length": "8191"}, "max_input_length must be a whole number, got '8191'"),
        (
            {"container_environment": {"MAX_INPUT_LENGTH": "10"}},
            "sets MAX_INPUT_LENGTH: use the max_input_length prop",
        ),
        (
            {"container_environment": {"HF_MODEL_ID": "mistralai/Mistral-7B"}},
            "sets HF_MODEL_ID: use the model prop",
        ),
        ({"container_environment": {"1BAD": "x"}}, "key '1BAD' is not a valid environment variable name"),
        ({"container_environment": {"LOG": 3}}, "container_environment['LOG'] must be a string"),
        (
            {"startup_health_check_timeout": cdk.Duration.seconds(30)},
            "startup_health_check_timeout must be a whole number of seconds between 60 and 3600, got 30 s",
        ),
        (
            {"model_data_download_timeout": cdk.Duration.hours(2)},
            "model_data_download_timeout must be a whole number of seconds between 60 and 3600, got 7200 s",
        ),
        (
            {"endpoint_name": "my_endpoint"},
            "endpoint_name 'my_endpoint' is not a valid SageMaker endpoint name",
        ),
        ({"default_max_new_tokens": 8192}, "default_max_new_tokens must be between 1 and 8191, got 8192"),
        ({"max_input_length": 8192}, "max_input_length must be between 1 and 8191, got 8192"),
        (
            {"startup_health_check_timeout": 900},
            "startup_health_check_timeout must be an aws_cdk.Duration, got 900",
        ),
        (
            {"container_environment": {f"EXTRA_{i}": "x" for i in range(81)}},
            "container_environment has 81 entries: SageMaker allows 100 in all",
        ),
        ({"proxy_memory_size": 64}, "memory_size must be between 128 and 10240, got 64"),
        (
            {"proxy_reserved_concurrent_executions": 0},
            "reserved_concurrent_executions must be at least 1, got 0",
        ),
        (
            {"max_total_tokens": cdk.Token.as_number(cdk.Fn.ref("Tokens"))},
            "max_total_tokens must be known at synth time",
        ),
        ({"instance_type": cdk.Fn.ref("InstanceType")}, "instance_type must be known at synth time"),
    ],
)
def test_invalid_prop_is_rejected_with_its_fix(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        build(**props)
    assert message in str(raised.value)


def test_subnets_without_a_vpc_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="vpc_subnets was given without vpc"):
        build(vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))


def test_a_single_subnet_is_rejected() -> None:
    stack = cdk.Stack(new_app(), "OneSubnet")
    vpc = imported_vpc(stack, ["eu-west-1a", "eu-west-1b"])
    only = ec2.Subnet.from_subnet_attributes(
        stack, "Only", subnet_id="subnet-0a1b2c3d4e5f67890", availability_zone="eu-west-1a"
    )
    one = ec2.SubnetSelection(subnets=[only])
    with pytest.raises(ConfigurationError, match=r"vpc_subnets selects 1 subnet\(s\)"):
        MistralEndpoint(stack, "Mistral", vpc=vpc, vpc_subnets=one)


def test_proxy_in_vpc_without_any_runtime_endpoint_is_rejected() -> None:
    stack = cdk.Stack(new_app(), "NoEndpoints")
    vpc = imported_vpc(stack, ["eu-west-1a", "eu-west-1b"])
    with pytest.raises(
        ConfigurationError, match=r"create_vpc_endpoints=False leaves no sagemaker\.runtime endpoint"
    ):
        MistralEndpoint(stack, "Mistral", vpc=vpc, create_vpc_endpoints=False)


def test_a_single_az_is_rejected() -> None:
    stack = cdk.Stack(new_app(), "OneAz")
    vpc = imported_vpc(stack, ["eu-west-1a"])
    with pytest.raises(
        ConfigurationError, match=r"select at least two subnets in different Availability Zones"
    ):
        MistralEndpoint(stack, "Mistral", vpc=vpc)


def test_weights_prefix_must_be_a_folder() -> None:
    stack = cdk.Stack(new_app(), "Weights")
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", "team-models")
    for prefix in ("models/mistral-7b", "/models/mistral-7b/", ""):
        with pytest.raises(
            ConfigurationError, match="prefix must be an S3 key prefix like 'models/mistral-7b/'"
        ):
            MistralModel.from_bucket(bucket, prefix)


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("il-central-1", "pinned to il-central-1, but Lambda function URLs are not offered in"),
        ("xx-nowhere-1", "pinned to xx-nowhere-1, but the Hugging Face TGI 1.1 image is published in"),
    ],
)
def test_pinned_region_is_checked_at_synth(region: str, message: str) -> None:
    stack = cdk.Stack(new_app(), "Pinned", env=cdk.Environment(region=region))
    with pytest.raises(ConfigurationError, match=message):
        MistralEndpoint(stack, "Mistral")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"model": "large"}, "context model='large': use one of instruct, base"),
        ({"initialInstanceCount": "two"}, "context initialInstanceCount='two': use a whole number"),
        ({"proxyInVpc": "maybe"}, "context proxyInVpc='maybe': use true or false"),
    ],
)
def test_bad_context_is_rejected_with_its_fix(context: dict[str, Any], message: str) -> None:
    from app import build_app

    with pytest.raises(ConfigurationError) as raised:
        build_app(new_app(**context, compliance="off"))
    assert message in str(raised.value)


def test_context_flags_arrive_as_strings_and_are_parsed() -> None:
    from stacks.config import StackConfig

    app = new_app(initialInstanceCount="2", proxyInVpc="false", maxConcurrentRequests="64")
    config = StackConfig.from_context(app.node)
    assert (config.initial_instance_count, config.proxy_in_vpc, config.max_concurrent_requests) == (
        2,
        False,
        64,
    )


def test_cdk_json_sets_only_known_keys_and_every_default_matches() -> None:
    from synth_helpers import CDK_JSON_CONTEXT

    from stacks.config import StackConfig

    keys = StackConfig.context_keys()
    ours = {k: v for k, v in CDK_JSON_CONTEXT.items() if not k.startswith("@aws-cdk")}
    assert set(ours) <= set(keys)
    defaults = StackConfig()
    for key, value in ours.items():
        assert getattr(defaults, keys[key]) == value, key
