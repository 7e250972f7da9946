"""The private front door (``-c frontDoor=private``), read back through the emulator's APIs: the PRIVATE REST API,
its routes (AWS_IAM, STREAM Lambda proxy integrations to the proxy function), the resource policy that admits only
the stack's ``execute-api`` endpoint, the stage and its access logs, the endpoint itself; and the REST API proxy
events the deployed function answers behind it.

What the door must be, and the sources: constructs/mistral_endpoint/private_api.py and
docs/operate/private-door.md (the API Gateway developer guide's private APIs, resource policies and response
streaming).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mistral_client.function_url import rest_api_event

from .common import ACCOUNT, REGION, check
from .emulator import Emulator
from .invoke import DoorEvent, invoke_proxy
from .stack import Clients, Deployed, every

#: The proxy's routes and their methods (the runtime's contract; the construct's private_api.METHODS).
ROUTES = frozenset(
    {("/generate", "POST"), ("/chat", "POST"), ("/v1/chat/completions", "POST"), ("/health", "GET")}
)
EXECUTE_API_SERVICE = f"com.amazonaws.{REGION}.execute-api"
#: Longest a streamed answer lasts through API Gateway (developer guide, "Stream the integration response").
STREAM_LIMIT_MS = 15 * 60 * 1000
#: Who calls through the private door in the invoke phase: an application's assumed-role session.
CALLER_ROLE = "rehearsal-client"
CALLER_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/{CALLER_ROLE}/rehearsal-session"


def verify_private_door(
    clients: Clients,
    deployed: Deployed,
    fconfig: Mapping[str, Any],
    streaming: bool,
    subnet_ids: list[str],
    vpc_id: str,
) -> str:
    """The private door is wired: a PRIVATE API whose every route is IAM-authorized and integrated with the proxy
    function, whose policy admits only the stack's execute-api endpoint, whose stage logs to the stack's group."""
    api_id = deployed.one("AWS::ApiGateway::RestApi")
    api = clients.apigateway.get_rest_api(restApiId=api_id)
    types = api.get("endpointConfiguration", {}).get("types")
    check(types == ["PRIVATE"], f"REST API {api_id} has endpoint types {types}, not PRIVATE")
    vpce = _check_execute_api_endpoint(clients, deployed, subnet_ids, vpc_id)
    check(
        deployed.outputs.get("PrivateApiVpcEndpointId") == vpce,
        f"PrivateApiVpcEndpointId {deployed.outputs.get('PrivateApiVpcEndpointId')!r}, the endpoint is {vpce}",
    )
    _check_resource_policy(api, vpce)
    _check_routes(clients, api_id, fconfig, streaming)
    stage, log_group = _check_stage(clients, deployed, api_id)
    url = f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage}/"
    check(
        deployed.outputs.get("PrivateApiUrl") == url, f"PrivateApiUrl {deployed.outputs.get('PrivateApiUrl')}"
    )
    _check_invoke_permission(clients, fconfig, api_id)
    _check_api_alarms(clients, deployed, api["name"], stage)
    mode = "STREAM" if streaming else "BUFFERED"
    return (
        f"private API {api_id} (PRIVATE; only through {vpce}, private DNS, 443 from the VPC): "
        f"{len(ROUTES)} routes AWS_IAM -> {mode} to the proxy; stage {stage} logs JSON to {log_group}"
    )


def _check_execute_api_endpoint(
    clients: Clients, deployed: Deployed, subnet_ids: list[str], vpc_id: str
) -> str:
    """The stack's execute-api interface endpoint: in its subnets, private DNS, its own security group admitting
    HTTPS from the VPC (the default peers). Returns its id."""
    vpce = deployed.by_path("PrivateApi/ExecuteApiEndpoint", "AWS::EC2::VPCEndpoint")
    (endpoint,) = clients.ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"]
    check(endpoint["ServiceName"] == EXECUTE_API_SERVICE, f"{vpce} serves {endpoint['ServiceName']}")
    check(endpoint.get("VpcEndpointType") == "Interface", f"{vpce} is {endpoint.get('VpcEndpointType')}")
    check(endpoint.get("PrivateDnsEnabled") is True, f"the execute-api endpoint {vpce} has no private DNS")
    check(endpoint["VpcId"] == vpc_id, f"the execute-api endpoint is in {endpoint['VpcId']}, not {vpc_id}")
    check(
        sorted(endpoint.get("SubnetIds", [])) == subnet_ids,
        f"the execute-api endpoint is in subnets {endpoint.get('SubnetIds')}, not {subnet_ids}",
    )
    group = deployed.by_path("PrivateApi/ExecuteApiEndpoint/SecurityGroup", "AWS::EC2::SecurityGroup")
    check(
        [g["GroupId"] for g in endpoint.get("Groups", [])] == [group],
        f"the execute-api endpoint's security groups are {endpoint.get('Groups')}, not [{group}]",
    )
    cidr = clients.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"]
    rules = clients.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    check(
        any(
            r.get("FromPort") == 443 == r.get("ToPort")
            and cidr in [i["CidrIp"] for i in r.get("IpRanges", [])]
            for r in rules
        ),
        f"the execute-api endpoint's security group does not admit 443 from {cidr}: {rules}",
    )
    return vpce


def _statements(policy: object) -> list[dict[str, Any]]:
    # GetRestApi returns the policy as a JSON string (API Gateway escapes it once more: parse until a document).
    while isinstance(policy, str):
        policy = json.loads(policy)
    check(isinstance(policy, dict), f"the resource policy is not a document: {policy!r}")
    assert isinstance(policy, dict)
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_resource_policy(api: Mapping[str, Any], vpce: str) -> None:
    """Invoke is denied to anyone not coming through ``vpce`` and allowed, on the proxy's routes only, through
    it (developer guide, "Example: Allow private API traffic based on source VPC or VPC endpoint")."""
    check(api.get("policy"), f"REST API {api['id']} has no resource policy")
    statements = _statements(api["policy"])
    denies = [s for s in statements if s.get("Effect") == "Deny"]
    check(
        any(
            "execute-api:Invoke" in _as_list(s.get("Action"))
            and "execute-api:/*" in _as_list(s.get("Resource"))
            and _as_list(s.get("Condition", {}).get("StringNotEquals", {}).get("aws:SourceVpce")) == [vpce]
            for s in denies
        ),
        f"no statement denies execute-api:Invoke on execute-api:/* unless aws:SourceVpce is {vpce}: {denies}",
    )
    allows = [s for s in statements if s.get("Effect") == "Allow"]
    check(allows, "the resource policy allows nothing")
    for allow in allows:
        check(
            _as_list(allow.get("Condition", {}).get("StringEquals", {}).get("aws:SourceVpce")) == [vpce],
            f"an Allow statement is not limited to aws:SourceVpce {vpce}: {allow}",
        )
    allowed = {r for s in allows for r in _as_list(s.get("Resource"))}
    expected = {f"execute-api:/*/{method}{path}" for path, method in ROUTES}
    check(
        allowed == expected, f"the policy allows {sorted(allowed)}, not the proxy's routes {sorted(expected)}"
    )


def _check_routes(clients: Clients, api_id: str, fconfig: Mapping[str, Any], streaming: bool) -> None:
    """Every route of the proxy, and only those, with AWS_IAM and a Lambda proxy integration to the function."""
    resources = every(clients.apigateway, "get_resources", "items", restApiId=api_id, embed=["methods"])
    methods = {
        (resource["path"], verb): method
        for resource in resources
        for verb, method in (resource.get("resourceMethods") or {}).items()
    }
    check(
        set(methods) == ROUTES, f"the API serves {sorted(methods)}, not the proxy's routes {sorted(ROUTES)}"
    )
    arn = fconfig["FunctionArn"]
    # The integration URI for each mode (developer guide, "Stream the integration response"; Lambda's API paths).
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/" + (
        f"2021-11-15/functions/{arn}/response-streaming-invocations"
        if streaming
        else f"2015-03-31/functions/{arn}/invocations"
    )
    for (path, verb), method in sorted(methods.items()):
        route = f"{verb} {path}"
        check(
            method.get("authorizationType") == "AWS_IAM",
            f"{route}: authorization {method.get('authorizationType')}",
        )
        integration = method.get("methodIntegration") or {}
        check(
            (integration.get("type"), integration.get("httpMethod")) == ("AWS_PROXY", "POST"),
            f"{route}: not a Lambda proxy integration: {integration}",
        )
        check(integration.get("uri") == uri, f"{route}: integration {integration.get('uri')}, not {uri}")
        mode = integration.get("responseTransferMode")
        check(mode == ("STREAM" if streaming else "BUFFERED"), f"{route}: response transfer mode {mode}")
        if streaming:
            # A stream lasts as long as the function may write it, at most API Gateway's 15 minutes.
            timeout = min(int(fconfig["Timeout"]) * 1000, STREAM_LIMIT_MS)
            check(
                int(integration.get("timeoutInMillis") or 0) == timeout,
                f"{route}: integration timeout {integration.get('timeoutInMillis')} ms, not {timeout} ms",
            )


def _check_stage(clients: Clients, deployed: Deployed, api_id: str) -> tuple[str, str]:
    """The stack's one stage, on its deployment, logging JSON to the stack's access log group, no execution
    logs or data trace, the template's throttling. Returns the stage's name and the log group's."""
    name = deployed.one("AWS::ApiGateway::Stage")
    stages = clients.apigateway.get_stages(restApiId=api_id)["item"]
    check(
        [s["stageName"] for s in stages] == [name], f"stages {[s['stageName'] for s in stages]}, not [{name}]"
    )
    stage = stages[0]
    deployment = deployed.one("AWS::ApiGateway::Deployment")
    check(stage.get("deploymentId") == deployment, f"stage {name} is on {stage.get('deploymentId')}")
    listed = [d["id"] for d in every(clients.apigateway, "get_deployments", "items", restApiId=api_id)]
    check(deployment in listed, f"the deployment {deployment} is not among the API's {listed}")
    group = deployed.by_path("PrivateApi/AccessLogs", "AWS::Logs::LogGroup")
    check(
        clients.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"],
        f"the access log group {group} does not exist",
    )
    access = stage.get("accessLogSettings") or {}
    destination = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    check(access.get("destinationArn") == destination, f"stage {name} logs to {access.get('destinationArn')}")
    fields = json.loads(access.get("format") or "{}")
    check(
        {"userArn", "vpceId", "status", "lambdaRequestId"} <= set(fields),
        f"the access log format lacks the caller, endpoint, status or Lambda request id: {sorted(fields)}",
    )
    (template_stage,) = deployed.properties("AWS::ApiGateway::Stage").values()
    (template_settings,) = template_stage["MethodSettings"]
    settings = (stage.get("methodSettings") or {}).get("*/*", {})
    check(
        settings.get("loggingLevel") == "OFF" and settings.get("dataTraceEnabled") is False,
        f"stage {name} writes execution logs (prompts and answers): {settings}",
    )
    throttling = (settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit"))
    expected = (
        float(template_settings["ThrottlingRateLimit"]),
        int(template_settings["ThrottlingBurstLimit"]),
    )
    check(throttling == expected, f"stage {name} throttles at {throttling}, the template's {expected}")
    return name, group


def _check_invoke_permission(clients: Clients, fconfig: Mapping[str, Any], api_id: str) -> None:
    """The function's resource policy lets API Gateway invoke it for this API (any stage, method and path)."""
    policy = json.loads(clients.lam.get_policy(FunctionName=fconfig["FunctionName"])["Policy"])
    source = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*/*"
    check(
        any(
            "apigateway.amazonaws.com" in json.dumps(s.get("Principal"))
            and "lambda:InvokeFunction" in _as_list(s.get("Action"))
            and source in json.dumps(s.get("Condition"))
            for s in policy.get("Statement", [])
        ),
        f"the function's policy does not let apigateway.amazonaws.com invoke it from {source}: {policy}",
    )


def _check_api_alarms(clients: Clients, deployed: Deployed, api_name: str, stage: str) -> None:
    """The API's own alarms watch this API's stage (ApiName and Stage dimensions; the Stage is the stage's Ref)."""
    names = deployed.ids("AWS::CloudWatch::Alarm")
    alarms = every(clients.cloudwatch, "describe_alarms", "MetricAlarms", AlarmNames=names)
    on_api = [a for a in alarms if a.get("Namespace") == "AWS/ApiGateway"]
    check(on_api, f"no alarm of the stack watches AWS/ApiGateway: {[a['AlarmName'] for a in alarms]}")
    for alarm in on_api:
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        check(
            dimensions == {"ApiName": api_name, "Stage": stage},
            f"alarm {alarm['AlarmName']} watches {dimensions}, not {api_name} stage {stage}",
        )


def private_door_event(deployed: Deployed) -> DoorEvent:
    """The REST API proxy event (payload format 1.0) the private API delivers for each request: the deployed API,
    stage and execute-api endpoint, signed by ``CALLER_ARN``."""
    api_id, stage = deployed.one("AWS::ApiGateway::RestApi"), deployed.one("AWS::ApiGateway::Stage")
    vpce = deployed.outputs["PrivateApiVpcEndpointId"]

    def event(method: str, path: str, body: object | None) -> dict[str, Any]:
        return rest_api_event(
            method,
            path,
            None if body is None else json.dumps(body),
            stage=stage,
            api_id=api_id,
            region=REGION,
            account_id=ACCOUNT,
            caller_arn=CALLER_ARN,
            vpce_id=vpce,
        )

    return event


def invoke_private_door(
    emulator: Emulator, clients: Clients, deployed: Deployed, expect_max_new_tokens: int, out_dir: Path
) -> str:
    """The deployed proxy answers the private API's proxy events (streamed back in Lambda's response format when
    it streams) and names the assumed role that signed them in every request log line."""
    detail = invoke_proxy(
        emulator,
        clients,
        deployed,
        expect_max_new_tokens,
        out_dir,
        door_event=private_door_event(deployed),
        expect_caller=f"role/{CALLER_ROLE}",
    )
    return f"{detail}; REST API proxy events from {CALLER_ARN.rsplit('/', 1)[0]}"
