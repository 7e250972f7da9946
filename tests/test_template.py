"""Targeted assertions: one per requirement the synthesized template must meet in the real cloud."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk.aws_lambda as lambda_
from synth_helpers import acknowledgements, default_stack, only, resources_of, template_of

from mistral_endpoint._lambda import tgi_images as _tgi_images
from mistral_endpoint.hosting import VARIANT_NAME
from mistral_endpoint.proxy import FUNCTION_TIMEOUT_SECONDS, STREAMING_FUNCTION_TIMEOUT_SECONDS

JUMPSTART_ENVIRONMENT = {
    "HF_MODEL_ID": "/opt/ml/model",
    "SM_NUM_GPUS": "1",
    "MAX_INPUT_LENGTH": "8191",
    "MAX_TOTAL_TOKENS": "8192",
    "MAX_BATCH_PREFILL_TOKENS": "8191",
    "MODEL_CACHE_ROOT": "/opt/ml/model",
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
    "ENDPOINT_SERVER_TIMEOUT": "3600",
    "SAGEMAKER_ENV": "1",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
}


def model(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::SageMaker::Model")["Properties"]


def text(value: Any) -> str:
    return json.dumps(value)


# --- the TGI 1.1 image -------------------------------------------------------------------------------


def test_image_account_comes_from_a_mapping_of_every_published_region(template: dict[str, Any]) -> None:
    (mapping,) = [v for k, v in template["Mappings"].items() if "TgiImageAccounts" in k]
    assert {region: row["account"] for region, row in mapping.items()} == _tgi_images.ECR_ACCOUNT_BY_REGION
    assert len(mapping) == 45


def test_image_uri_is_the_tgi_1_1_dlc_in_the_deploy_region(template: dict[str, Any]) -> None:
    parts = model(template)["PrimaryContainer"]["Image"]["Fn::Join"][1]
    assert parts[0]["Fn::FindInMap"][1] == {"Ref": "AWS::Region"}
    assert parts[1:] == [
        ".dkr.ecr.",
        {"Ref": "AWS::Region"},
        ".",
        {"Ref": "AWS::URLSuffix"},
        "/huggingface-pytorch-tgi-inference:2.0.1-tgi1.1.0-gpu-py39-cu118-ubuntu20.04",
    ]


def test_region_agnostic_template_refuses_regions_without_the_image(template: dict[str, Any]) -> None:
    regions, region = template["Rules"]["TgiImageRegion"]["Assertions"][0]["Assert"]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"}
    assert sorted(regions) == sorted(_tgi_images.ECR_ACCOUNT_BY_REGION)


def test_region_agnostic_template_refuses_regions_without_function_urls(template: dict[str, Any]) -> None:
    from mistral_endpoint.regions import FUNCTION_URL_UNSUPPORTED_REGIONS

    rule = template["Rules"]["FunctionUrlRegion"]["Assertions"][0]["Assert"]
    regions, region = rule["Fn::Not"][0]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"}
    assert set(regions) == FUNCTION_URL_UNSUPPORTED_REGIONS
    assert {"il-central-1", "ca-west-1", "ap-southeast-4", "eu-central-2"} <= set(regions)


def test_pinned_region_needs_no_deploy_time_rules() -> None:
    rules = template_of("pinned_region")["Rules"]
    assert "TgiImageRegion" not in rules and "FunctionUrlRegion" not in rules


# --- the weights -------------------------------------------------------------------------------------


def test_instruct_weights_are_jumpstarts_uncompressed_prefix_in_the_regional_cache(
    template: dict[str, Any],
) -> None:
    source = model(template)["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source["S3DataType"] == "S3Prefix"
    assert source["CompressionType"] == "None"
    assert source["S3Uri"] == {
        "Fn::Join": [
            "",
            [
                "s3://jumpstart-cache-prod-",
                {"Ref": "AWS::Region"},
                "/huggingface-llm/huggingface-llm-mistral-7b-instruct/artifacts/inference-prepack/v1.0.0/",
            ],
        ]
    }
    assert "ModelDataUrl" not in model(template)["PrimaryContainer"]


def test_base_model_variant_serves_the_base_weights() -> None:
    uri = text(model(template_of("base_model"))["PrimaryContainer"]["ModelDataSource"])
    assert "huggingface-llm-mistral-7b/artifacts/inference-prepack/v1.0.0/" in uri
    assert "instruct" not in uri


def test_container_gets_every_jumpstart_environment_variable_as_strings(template: dict[str, Any]) -> None:
    environment = model(template)["PrimaryContainer"]["Environment"]
    assert environment == JUMPSTART_ENVIRONMENT
    assert all(isinstance(value, str) for value in environment.values())


# --- isolation ---------------------------------------------------------------------------------------


def test_model_container_is_network_isolated_in_the_stacks_subnets(any_template: dict[str, Any]) -> None:
    props = model(any_template)
    assert props["EnableNetworkIsolation"] is True
    assert len(props["VpcConfig"]["Subnets"]) >= 2
    assert len(props["VpcConfig"]["SecurityGroupIds"]) == 1


def test_new_vpc_has_two_isolated_subnets_in_different_azs(template: dict[str, Any]) -> None:
    subnets = resources_of(template, "AWS::EC2::Subnet").values()
    azs = [text(s["Properties"]["AvailabilityZone"]) for s in subnets]
    assert len(azs) == 2 and len(set(azs)) == 2
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)


def test_nothing_reaches_the_internet(any_template: dict[str, Any]) -> None:
    for forbidden in (
        "AWS::EC2::NatGateway",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::EIP",
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::Route",
    ):
        assert not resources_of(any_template, forbidden), forbidden


def test_s3_gateway_endpoint_admits_only_reads_of_the_weights(template: dict[str, Any]) -> None:
    endpoints = resources_of(template, "AWS::EC2::VPCEndpoint").values()
    (s3,) = [e for e in endpoints if e["Properties"].get("VpcEndpointType") != "Interface"]
    assert ".s3" in text(s3["Properties"]["ServiceName"])
    statements = s3["Properties"]["PolicyDocument"]["Statement"]
    assert {s["Action"] for s in statements} == {"s3:ListBucket", "s3:GetObject"}
    assert all(s["Effect"] == "Allow" for s in statements)
    for statement in statements:
        assert "jumpstart-cache-prod-" in text(statement["Resource"])
    (get,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert text(get["Resource"]).endswith('inference-prepack/v1.0.0/*"]]}')
    (list_,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert list_["Condition"]["StringLike"]["s3:prefix"][0].endswith("inference-prepack/v1.0.0/*")


def test_runtime_interface_endpoint_is_private_and_reached_only_by_the_proxy(
    any_template: dict[str, Any],
) -> None:
    endpoints = resources_of(any_template, "AWS::EC2::VPCEndpoint").values()
    (runtime,) = [e for e in endpoints if "sagemaker.runtime" in text(e["Properties"]["ServiceName"])]
    assert runtime["Properties"]["VpcEndpointType"] == "Interface"
    assert runtime["Properties"]["PrivateDnsEnabled"] is True
    ingresses = resources_of(any_template, "AWS::EC2::SecurityGroupIngress")
    # The private door's execute-api endpoint admits its peers in its own group (tests/test_private_door.py).
    (ingress,) = [v for k, v in ingresses.items() if "SageMakerRuntime" in k]
    assert ingress["Properties"]["FromPort"] == ingress["Properties"]["ToPort"] == 443
    assert "ProxySecurityGroup" in text(ingress["Properties"]["SourceSecurityGroupId"])
    groups = resources_of(any_template, "AWS::EC2::SecurityGroup")
    endpoint_group = next(v for k, v in groups.items() if "SageMakerRuntime" in k)
    assert "SecurityGroupIngress" not in endpoint_group["Properties"]


def test_proxy_may_only_talk_https_to_the_runtime_endpoint(template: dict[str, Any]) -> None:
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    proxy_group = next(k for k in groups if "Proxy" in k)
    # A standalone SecurityGroupEgress strips the group's default allow-all rule when it is created.
    assert "SecurityGroupEgress" not in groups[proxy_group]["Properties"]
    (egress,) = resources_of(template, "AWS::EC2::SecurityGroupEgress").values()
    assert egress["Properties"]["GroupId"] == {"Fn::GetAtt": [proxy_group, "GroupId"]}
    assert egress["Properties"]["FromPort"] == egress["Properties"]["ToPort"] == 443
    assert "SageMakerRuntime" in text(egress["Properties"]["DestinationSecurityGroupId"])


def test_vpc_flow_logs_capture_all_traffic_to_a_log_group(template: dict[str, Any]) -> None:
    flow_log = only(template, "AWS::EC2::FlowLog")["Properties"]
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["ResourceType"] == "VPC"


# --- endpoint configuration --------------------------------------------------------------------------


def test_endpoint_config_has_no_kms_key_or_volume_on_g5(any_template: dict[str, Any]) -> None:
    config = only(any_template, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert "KmsKeyId" not in config
    (variant,) = config["ProductionVariants"]
    assert "VolumeSizeInGB" not in variant


def test_endpoint_config_runs_one_g5_2xlarge_with_long_start_timeouts(template: dict[str, Any]) -> None:
    (variant,) = only(template, "AWS::SageMaker::EndpointConfig")["Properties"]["ProductionVariants"]
    assert variant["InstanceType"] == "ml.g5.2xlarge"
    assert variant["InitialInstanceCount"] == 1
    assert variant["VariantName"] == VARIANT_NAME
    assert 600 <= variant["ContainerStartupHealthCheckTimeoutInSeconds"] <= 3600
    assert 600 <= variant["ModelDataDownloadTimeoutInSeconds"] <= 3600


def test_kms_acknowledgement_gives_the_g5_reason() -> None:
    config = (
        default_stack()
        .node.find_child("Mistral")
        .node.find_child("Hosting")
        .node.find_child("EndpointConfig")
    )
    reasons = acknowledgements(config)
    for pack in ("HIPAA.Security", "NIST.800.53.R5"):
        reason = reasons[f"{pack}::{pack}-SageMakerEndpointConfigurationKMSKeyConfigured"]
        assert "NVMe" in reason and "ml.g5.2xlarge" in reason


def test_model_waits_for_its_roles_policy(any_template: dict[str, Any]) -> None:
    (model_id,) = resources_of(any_template, "AWS::SageMaker::Model")
    policy_ids = [
        k
        for k, v in resources_of(any_template, "AWS::IAM::ManagedPolicy").items()
        if "Hosting" in k and v["Properties"].get("Roles")
    ]
    assert policy_ids and set(policy_ids) <= set(any_template["Resources"][model_id]["DependsOn"])


def test_endpoint_waits_for_the_s3_gateway_route(template: dict[str, Any]) -> None:
    endpoint = only(template, "AWS::SageMaker::Endpoint")
    (s3_endpoint,) = [k for k, v in resources_of(template, "AWS::EC2::VPCEndpoint").items() if "S3" in k]
    assert s3_endpoint in endpoint["DependsOn"]


def test_flow_log_waits_for_its_roles_policy(template: dict[str, Any]) -> None:
    flow_log = only(template, "AWS::EC2::FlowLog")
    (policy,) = [k for k in resources_of(template, "AWS::IAM::ManagedPolicy") if "FlowLog" in k]
    assert policy in flow_log["DependsOn"]


def test_endpoint_log_group_exists_before_the_endpoint(template: dict[str, Any]) -> None:
    endpoint = only(template, "AWS::SageMaker::Endpoint")
    groups = resources_of(template, "AWS::Logs::LogGroup")
    endpoint_group = next(k for k, v in groups.items() if "/aws/sagemaker/Endpoints/" in text(v))
    assert endpoint_group in endpoint["DependsOn"]
    name = endpoint["Properties"]["EndpointName"]
    assert groups[endpoint_group]["Properties"]["LogGroupName"] == f"/aws/sagemaker/Endpoints/{name}"


# --- least privilege ---------------------------------------------------------------------------------


def execution_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policies = resources_of(template, "AWS::IAM::ManagedPolicy")
    (policy,) = [v for k, v in policies.items() if "HostingExecutionPolicy" in k]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_execution_role_has_exactly_what_the_model_needs(template: dict[str, Any]) -> None:
    statements = execution_statements(template)
    assert set(statements) == {
        "AuthenticateToEcr",
        "PullTgiImage",
        "ListWeights",
        "ReadWeights",
        "WriteEndpointLogs",
        "PublishEndpointMetrics",
        "DescribeNetwork",
        "CreateModelEnis",
        "ManageModelEnis",
        "ReadRollbackAlarms",
    }
    assert "repository/huggingface-pytorch-tgi-inference" in text(statements["PullTgiImage"]["Resource"])
    assert statements["PublishEndpointMetrics"]["Condition"] == {
        "StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}
    }
    assert "ec2:Vpc" in text(statements["ManageModelEnis"]["Condition"])


def test_wildcard_resources_only_where_aws_allows_no_scoping(template: dict[str, Any]) -> None:
    for sid, statement in execution_statements(template).items():
        if statement["Resource"] == "*":
            assert sid in {"AuthenticateToEcr", "PublishEndpointMetrics", "DescribeNetwork"}


def test_no_managed_full_access_policy_or_all_buckets_anywhere(any_template: dict[str, Any]) -> None:
    rendered = text(any_template)
    assert "FullAccess" not in rendered
    assert "arn:aws:s3:::*" not in rendered
    assert '":s3:::*"' not in rendered
    for role in resources_of(any_template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_proxy_may_invoke_only_this_endpoint(template: dict[str, Any]) -> None:
    policies = resources_of(template, "AWS::IAM::ManagedPolicy")
    (policy,) = [v for k, v in policies.items() if "ProxyPolicy" in k]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    invoke = statements["InvokeEndpoint"]
    assert invoke["Action"] == ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"]
    endpoint_name = only(template, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert text(invoke["Resource"]).endswith(f':endpoint/{endpoint_name}"]]}}')


# --- the proxy ---------------------------------------------------------------------------------------


def proxy(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::Lambda::Function")["Properties"]


def test_proxy_runs_on_the_newest_python_runtime(template: dict[str, Any]) -> None:
    pythons = [name for name in dir(lambda_.Runtime) if name.startswith("PYTHON_3_")]
    newest = max(pythons, key=lambda name: int(name.rsplit("_", 1)[1]))
    assert proxy(template)["Runtime"] == getattr(lambda_.Runtime, newest).name


def test_proxy_outlives_sagemakers_60_s_and_its_clients_70_s(template: dict[str, Any]) -> None:
    from mistral_endpoint._lambda.invoke_proxy import sagemaker as runtime_client

    assert proxy(template)["Timeout"] == STREAMING_FUNCTION_TIMEOUT_SECONDS
    assert proxy(template_of("streaming_off"))["Timeout"] == FUNCTION_TIMEOUT_SECONDS
    assert runtime_client.READ_TIMEOUT_SECONDS >= 70
    assert (
        FUNCTION_TIMEOUT_SECONDS
        > runtime_client.READ_TIMEOUT_SECONDS + runtime_client.CONNECT_TIMEOUT_SECONDS
    )


def test_proxy_knows_its_endpoint_and_the_models_limits(template: dict[str, Any]) -> None:
    variables = proxy(template)["Environment"]["Variables"]
    endpoint_name = only(template, "AWS::SageMaker::Endpoint")["Properties"]["EndpointName"]
    assert variables["ENDPOINT_NAME"] == endpoint_name
    assert variables["MAX_TOTAL_TOKENS"] == "8192"
    assert variables["MAX_INPUT_LENGTH"] == "8191"
    assert variables["PROMPT_FORMAT"] == "mistral-instruct"
    assert variables["LOG_PROMPTS"] == "false"


def test_base_model_proxy_offers_no_chat_template() -> None:
    assert proxy(template_of("base_model"))["Environment"]["Variables"]["PROMPT_FORMAT"] == "none"


def test_proxy_sits_in_the_isolated_subnets(template: dict[str, Any]) -> None:
    vpc_config = proxy(template)["VpcConfig"]
    isolated = [{"Ref": k} for k in resources_of(template, "AWS::EC2::Subnet")]
    assert sorted(map(text, vpc_config["SubnetIds"])) == sorted(map(text, isolated))
    assert model(template)["VpcConfig"]["Subnets"] == vpc_config["SubnetIds"]
    assert proxy(template)["LoggingConfig"]["LogFormat"] == "JSON"


def test_every_function_url_uses_iam_auth(any_template: dict[str, Any]) -> None:
    for url in resources_of(any_template, "AWS::Lambda::Url").values():  # none with frontDoor=private
        assert url["Properties"]["AuthType"] == "AWS_IAM"
        # streaming or not: tests/test_streaming_template.py
        assert url["Properties"]["InvokeMode"] in ("RESPONSE_STREAM", "BUFFERED")


def test_no_permission_opens_the_function_but_the_private_apis_own(any_template: dict[str, Any]) -> None:
    for permission in resources_of(any_template, "AWS::Lambda::Permission").values():
        properties = permission["Properties"]
        assert properties["Principal"] == "apigateway.amazonaws.com"
        assert ":execute-api:" in text(properties["SourceArn"]) and "PrivateApi" in text(
            properties["SourceArn"]
        )


# --- teardown ----------------------------------------------------------------------------------------


def test_every_log_group_has_a_retention_and_is_deleted(any_template: dict[str, Any]) -> None:
    groups = resources_of(any_template, "AWS::Logs::LogGroup").values()
    assert groups
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["DeletionPolicy"] == "Delete"
        assert group["UpdateReplacePolicy"] == "Delete"


def test_nothing_is_retained(any_template: dict[str, Any]) -> None:
    for logical_id, resource in any_template["Resources"].items():
        assert resource.get("DeletionPolicy", "Delete") == "Delete", logical_id


def test_outputs_give_url_endpoint_region_and_a_command(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) >= {"InvokeUrl", "EndpointName", "Region", "InvokeCommand"}
    assert outputs["InvokeUrl"]["Value"]["Fn::GetAtt"][1] == "FunctionUrl"
    assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}
    assert "mistral-invoke" in text(outputs["InvokeCommand"]["Value"])
