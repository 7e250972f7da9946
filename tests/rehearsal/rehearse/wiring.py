"""The deploy's wiring checks: every template resource exists in the emulator, and each is wired to the
stack's other resources (read back through the AWS APIs, not the template)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .common import REGION, STACK, RehearsalError, check
from .private_door import verify_private_door
from .scaling import verify_scaling
from .stack import Clients, Deployed, asset_zip, every

# Template resource types moto 5.2.5 does not model at all (it logs "No Moto CloudFormation support"): they
# are in the template but cannot be checked here. README.md ("Deploy rehearsal (no AWS account)") lists them.
NOT_EMULATED = frozenset({"AWS::CDK::Metadata", "AWS::EC2::SecurityGroupEgress"})


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def verify_deployment(clients: Clients, deployed: Deployed, outputs_file: Path) -> str:
    """Every template resource exists in the emulator, and each is wired to the stack's other resources."""
    template_types = {k: v["Type"] for k, v in deployed.template["Resources"].items()}
    for logical, resource_type in template_types.items():
        if resource_type in NOT_EMULATED:
            continue
        check(logical in deployed.physical, f"{logical} ({resource_type}) is not in the stack's resources")

    # Outputs: the file the CLI wrote and the stack's own; each door has its own.
    check(outputs_file.exists(), f"cdk deploy wrote no {outputs_file}")
    written = json.loads(outputs_file.read_text()).get(STACK, {})
    doors = deployed.doors
    check(doors, "the stack has no door: neither a function URL nor a private REST API")
    door_outputs = {"url": ("InvokeUrl",), "private": ("PrivateApiUrl", "PrivateApiVpcEndpointId")}
    for key in (
        "EndpointName",
        "Region",
        "InvokeCommand",
        *(k for d in sorted(doors) for k in door_outputs[d]),
    ):
        check(written.get(key), f"--outputs-file has no {key}: {written}")
        check(
            written[key] == deployed.outputs.get(key),
            f"output {key}: file {written[key]!r}, stack {deployed.outputs}",
        )
    check(written["Region"] == REGION, f"Region output {written['Region']!r}")

    ec2, sm, lam = clients.ec2, clients.sagemaker, clients.lam
    # Network: one VPC, two subnets in two AZs, both endpoints in it, the flow log on it.
    vpc_id = deployed.one("AWS::EC2::VPC")
    subnet_ids = deployed.ids("AWS::EC2::Subnet")
    subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    check(
        len(subnets) == 2 and {s["VpcId"] for s in subnets} == {vpc_id},
        f"subnets {subnet_ids} not in {vpc_id}",
    )
    check(len({s["AvailabilityZone"] for s in subnets}) == 2, "the two subnets share an availability zone")
    endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=deployed.ids("AWS::EC2::VPCEndpoint"))[
        "VpcEndpoints"
    ]
    by_service = {e["ServiceName"]: e for e in endpoints}
    check({e["VpcId"] for e in endpoints} == {vpc_id}, "a VPC endpoint is outside the stack's VPC")
    runtime = by_service.get(f"com.amazonaws.{REGION}.sagemaker.runtime")
    check(runtime is not None, f"no sagemaker.runtime endpoint among {sorted(by_service)}")
    assert runtime is not None
    check(runtime.get("PrivateDnsEnabled") is True, "the sagemaker.runtime endpoint has no private DNS")
    check(
        sorted(runtime.get("SubnetIds", [])) == subnet_ids,
        "the runtime endpoint is not in the stack's subnets",
    )
    runtime_sg = deployed.by_path("SageMakerRuntimeEndpoint/SecurityGroup", "AWS::EC2::SecurityGroup")
    check(
        [g["GroupId"] for g in runtime.get("Groups", [])] == [runtime_sg], "runtime endpoint security group"
    )
    gateway = by_service.get(f"com.amazonaws.{REGION}.s3")
    check(gateway is not None, f"no S3 gateway endpoint among {sorted(by_service)}")
    assert gateway is not None
    check(gateway.get("VpcEndpointType") == "Gateway", f"the S3 endpoint is {gateway.get('VpcEndpointType')}")
    # The model downloads its weights through the subnets' route tables: the gateway must be in exactly the
    # stack's tables, and each of them must route to it.
    table_ids = deployed.ids("AWS::EC2::RouteTable")
    check(len(table_ids) == len(subnet_ids), f"route tables {table_ids} for subnets {subnet_ids}")
    check(
        sorted(gateway.get("RouteTableIds", [])) == table_ids,
        f"the S3 gateway endpoint is in route tables {gateway.get('RouteTableIds')}, the stack's are {table_ids}",
    )
    for table in ec2.describe_route_tables(RouteTableIds=table_ids)["RouteTables"]:
        check(table["VpcId"] == vpc_id, f"route table {table['RouteTableId']} is not in {vpc_id}")
        check(
            any(r.get("GatewayId") == gateway["VpcEndpointId"] for r in table.get("Routes", [])),
            f"route table {table['RouteTableId']} has no route to the S3 gateway endpoint: {table.get('Routes')}",
        )
        # Which subnet uses the table is not checked: moto 5.2.5 does not list associations it created from
        # a template (AWS::EC2::SubnetRouteTableAssociation) in DescribeRouteTables.
    flow_logs = ec2.describe_flow_logs(FlowLogIds=deployed.ids("AWS::EC2::FlowLog"))["FlowLogs"]
    check(len(flow_logs) == 1 and flow_logs[0]["ResourceId"] == vpc_id, f"flow log not on {vpc_id}")
    flow_group = deployed.by_path("Network/FlowLogs", "AWS::Logs::LogGroup")
    check(flow_logs[0].get("LogGroupName") == flow_group, "the flow log writes elsewhere than its log group")
    check(
        role_name(flow_logs[0].get("DeliverLogsPermissionArn", ""))
        == deployed.by_path("FlowLogRole", "AWS::IAM::Role"),
        "the flow log does not use the stack's flow log role",
    )

    # Hosting: model in the stack's subnets and security group, with the stack's role; config -> model;
    # endpoint -> config, under the name the outputs and the proxy use.
    hosting_sg = deployed.by_path("Hosting/SecurityGroup", "AWS::EC2::SecurityGroup")
    model_name = deployed.one("AWS::SageMaker::Model").rsplit("/", 1)[-1]
    model = sm.describe_model(ModelName=model_name)
    vpc_config = model.get("VpcConfig", {})
    check(sorted(vpc_config.get("Subnets", [])) == subnet_ids, f"model subnets {vpc_config} != {subnet_ids}")
    check(vpc_config.get("SecurityGroupIds") == [hosting_sg], f"model security groups {vpc_config}")
    # EnableNetworkIsolation is not checked: moto drops it (README.md, "What it cannot prove").
    execution_role = deployed.by_path("Hosting/ExecutionRole", "AWS::IAM::Role")
    check(
        role_name(model["ExecutionRoleArn"]) == execution_role, "the model does not run as the stack's role"
    )
    image = model["PrimaryContainer"]["Image"]
    check(image.startswith(f"763104351884.dkr.ecr.{REGION}.amazonaws.com/") and "tgi1.1.0" in image, image)
    config_name = deployed.one("AWS::SageMaker::EndpointConfig").rsplit("/", 1)[-1]
    config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    variants = config["ProductionVariants"]
    check(len(variants) == 1, f"endpoint config variants {variants}")
    check(variants[0]["InstanceType"] == "ml.g5.2xlarge", f"instance type {variants[0]['InstanceType']}")
    endpoint_name = written["EndpointName"]
    endpoint = sm.describe_endpoint(EndpointName=endpoint_name)
    check(endpoint["EndpointConfigName"] == config_name, "the endpoint does not use the stack's config")
    check(endpoint["EndpointStatus"] == "InService", f"endpoint status {endpoint['EndpointStatus']}")
    component_name = deployed.inference_component_name
    invoke_arns = [endpoint["EndpointArn"]]
    if component_name is None:
        check([v.get("ModelName") for v in variants] == [model_name], f"endpoint config variants {variants}")
    else:
        invoke_arns.append(
            verify_inference_component(
                clients, deployed, config, endpoint_name, model_name, execution_role, subnet_ids, hosting_sg
            )
        )
    endpoint_logs = clients.logs.describe_log_groups(
        logGroupNamePrefix=f"/aws/sagemaker/Endpoints/{endpoint_name}"
    )
    check(endpoint_logs["logGroups"], "no log group for the endpoint")

    # Proxy: the function calls that endpoint, from the stack's subnets, as the stack's role; its code is the
    # published asset; its URL is the output.
    function_name = deployed.one("AWS::Lambda::Function")
    function = lam.get_function(FunctionName=function_name)
    fconfig = function["Configuration"]
    env = fconfig.get("Environment", {}).get("Variables", {})
    check(env.get("ENDPOINT_NAME") == endpoint_name, f"proxy ENDPOINT_NAME {env.get('ENDPOINT_NAME')!r}")
    check(
        env.get("INFERENCE_COMPONENT_NAME") == component_name,
        f"proxy INFERENCE_COMPONENT_NAME {env.get('INFERENCE_COMPONENT_NAME')!r}, the stack's component "
        f"{component_name!r}",
    )
    # The streaming function (the default) starts the proxy's HTTP app under the Lambda Web Adapter layer.
    streaming = fconfig["Handler"] == "run.sh"
    check(streaming or fconfig["Handler"] == "invoke_proxy.handler.handler", f"handler {fconfig['Handler']}")
    if streaming:
        adapter = {k: env.get(k) for k in ("AWS_LAMBDA_EXEC_WRAPPER", "AWS_LWA_INVOKE_MODE")}
        check(
            adapter
            == {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap", "AWS_LWA_INVOKE_MODE": "response_stream"},
            f"streaming handler run.sh without the Web Adapter's environment: {adapter}",
        )
        # moto 5.2.5 drops layer versions it did not publish itself (an empty list): checked when it keeps them.
        layers = [layer.get("Arn", "") for layer in fconfig.get("Layers", [])]
        check(
            not layers or any(":layer:LambdaAdapterLayerX86:" in arn for arn in layers),
            f"streaming handler run.sh without the Web Adapter layer: {layers}",
        )
    proxy_sg = deployed.by_path("Proxy/SecurityGroup", "AWS::EC2::SecurityGroup")
    fvpc = fconfig.get("VpcConfig", {})
    check(sorted(fvpc.get("SubnetIds", [])) == subnet_ids, f"proxy subnets {fvpc}")
    check(fvpc.get("SecurityGroupIds") == [proxy_sg], f"proxy security groups {fvpc}")
    proxy_role = deployed.by_path("Proxy/Role", "AWS::IAM::Role")
    # The runtime endpoint admits HTTPS from the proxy's security group (the egress side is not emulated).
    rules = ec2.describe_security_groups(GroupIds=[runtime_sg])["SecurityGroups"][0]["IpPermissions"]
    check(
        any(
            r.get("FromPort") == 443 and proxy_sg in [p["GroupId"] for p in r.get("UserIdGroupPairs", [])]
            for r in rules
        ),
        f"the runtime endpoint's security group does not admit 443 from the proxy's: {rules}",
    )
    check(role_name(fconfig["Role"]) == proxy_role, "the function does not run as the stack's proxy role")
    # moto 5.2.5 does not return LoggingConfig (the function's log group and format): checked when it does.
    proxy_logs = deployed.by_path("Proxy/Logs", "AWS::Logs::LogGroup")
    logging_config = fconfig.get("LoggingConfig")
    if logging_config is not None:
        check(
            logging_config.get("LogGroup") == proxy_logs,
            f"the proxy logs to {logging_config.get('LogGroup')!r}, not its log group {proxy_logs!r}",
        )
    check_code_is_the_asset(clients, deployed, fconfig, streaming)
    door_details = []
    if "url" in doors:
        url = lam.get_function_url_config(FunctionName=function_name)
        check(
            url["FunctionUrl"].rstrip("/") == written["InvokeUrl"].rstrip("/"),
            "InvokeUrl is not the function's URL",
        )
        check(url["AuthType"] == "AWS_IAM", f"function URL auth {url['AuthType']}")
        mode = url.get("InvokeMode")
        check(
            mode in (None, "RESPONSE_STREAM" if streaming else "BUFFERED"), f"function URL invoke mode {mode}"
        )
    else:
        check("InvokeUrl" not in deployed.outputs, f"an InvokeUrl output without a function URL: {written}")
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.get_function_url_config(FunctionName=function_name)
            raise RehearsalError(f"{function_name} has a function URL, and the stack asked for none")
        door_details.append("no function URL")
    if "private" in doors:
        door_details.insert(0, verify_private_door(clients, deployed, fconfig, streaming, subnet_ids, vpc_id))

    # IAM: each managed policy is attached to its role, and the proxy's grants exactly this endpoint.
    for policy_path, role in (
        ("Proxy/Policy", proxy_role),
        ("Hosting/ExecutionPolicy", execution_role),
        ("Network/FlowLogPolicy", deployed.by_path("FlowLogRole", "AWS::IAM::Role")),
    ):
        arn = deployed.by_path(policy_path, "AWS::IAM::ManagedPolicy")
        attached = every(clients.iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role)
        check(arn in [p["PolicyArn"] for p in attached], f"{policy_path} is not attached to {role}")
    proxy_policy = deployed.by_path("Proxy/Policy", "AWS::IAM::ManagedPolicy")
    version = clients.iam.get_policy(PolicyArn=proxy_policy)["Policy"]["DefaultVersionId"]
    document = clients.iam.get_policy_version(PolicyArn=proxy_policy, VersionId=version)["PolicyVersion"][
        "Document"
    ]
    if isinstance(document, str):
        document = json.loads(document)
    invoke = [s for s in document["Statement"] if "sagemaker:InvokeEndpoint" in _as_list(s.get("Action"))]
    check(
        [sorted(_as_list(s["Resource"])) for s in invoke] == [sorted(invoke_arns)],
        f"the proxy may invoke {[s['Resource'] for s in invoke]}, not exactly {invoke_arns}",
    )
    scaling = verify_scaling(clients, deployed, endpoint_name)
    unchecked = "" if logging_config is not None else "; moto returns no LoggingConfig for the proxy"
    served = f"endpoint {endpoint_name}" + (f", component {component_name}" if component_name else "")
    return (
        f"{len(deployed.physical)} of {len(template_types)} resources exist and are wired "
        f"(not emulated: {', '.join(sorted(NOT_EMULATED))}{unchecked}); {served}; {scaling}"
        + "".join(f"; {detail}" for detail in door_details)
    )


def verify_inference_component(
    clients: Clients,
    deployed: Deployed,
    config: Mapping[str, Any],
    endpoint_name: str,
    model_name: str,
    execution_role: str,
    subnet_ids: list[str],
    hosting_sg: str,
) -> str:
    """Scale-to-zero mode: the endpoint config scales its instances (from 0) and carries the role and network
    an inference-component endpoint needs; the component serves the stack's model on the endpoint. Returns its
    ARN."""
    (variant,) = config["ProductionVariants"]
    check("ModelName" not in variant, f"an inference-component endpoint's variant names a model: {variant}")
    (template_config,) = deployed.properties("AWS::SageMaker::EndpointConfig").values()
    scaling = variant.get("ManagedInstanceScaling", {})
    expected = template_config["ProductionVariants"][0]["ManagedInstanceScaling"]
    check(
        scaling.get("Status") == "ENABLED" and scaling.get("MinInstanceCount") == 0 and scaling == expected,
        f"managed instance scaling {scaling}, the template's {expected}",
    )
    check(
        role_name(config.get("ExecutionRoleArn", "")) == execution_role,
        f"the endpoint config runs as {config.get('ExecutionRoleArn')!r}, not the stack's role",
    )
    vpc = config.get("VpcConfig", {})
    check(
        sorted(vpc.get("Subnets", [])) == subnet_ids and vpc.get("SecurityGroupIds") == [hosting_sg],
        f"endpoint config VpcConfig {vpc}",
    )
    check(config.get("EnableNetworkIsolation") is True, "the endpoint config does not isolate the network")
    name = deployed.inference_component_name
    component = clients.sagemaker.describe_inference_component(InferenceComponentName=name)
    check(component["EndpointName"] == endpoint_name, f"component {name} is on {component['EndpointName']}")
    check(component["VariantName"] == variant["VariantName"], f"component variant {component['VariantName']}")
    check(
        component["Specification"].get("ModelName") == model_name,
        f"component {name} serves {component['Specification'].get('ModelName')!r}, not {model_name!r}",
    )
    check(component["InferenceComponentStatus"] == "InService", f"component {component}")
    listed = [
        c["InferenceComponentName"]
        for c in every(
            clients.sagemaker,
            "list_inference_components",
            "InferenceComponents",
            EndpointNameEquals=endpoint_name,
        )
    ]
    check(listed == [name], f"components on {endpoint_name}: {listed}")
    return str(component["InferenceComponentArn"])


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_code_is_the_asset(
    clients: Clients, deployed: Deployed, fconfig: Mapping[str, Any], streaming: bool = False
) -> None:
    """The function's code is the zip the CLI published to the bootstrap bucket, and holds the proxy."""
    data = asset_zip(clients, deployed)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    check(fconfig["CodeSha256"] == digest, "the function's code is not the published asset")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    check("invoke_proxy/handler.py" in names, f"the asset has no invoke_proxy/handler.py: {names[:10]}")
    if streaming:
        check("run.sh" in names, f"the streaming function's asset has no run.sh: {names[:10]}")
