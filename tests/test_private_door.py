"""The private front door (issue 16): a PRIVATE REST API reachable only through allowed execute-api VPC endpoints,
IAM on every method, streaming to the same proxy function; with frontDoor=private it is the only door."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_iam as iam
from synth_helpers import new_app, only, resources_of, template_of

from app import build_app
from mistral_endpoint import ConfigurationError, MistralEndpoint
from mistral_endpoint.private_api import ACCESS_LOG_FIELDS, METHODS
from mistral_endpoint.props import FrontDoorOptions, ProxyOptions

OTHER_ACCOUNT_ROLE = "arn:aws:iam::222233334444:role/team-app"


@pytest.fixture(scope="module")
def private() -> dict[str, Any]:
    return template_of("private_door")


@pytest.fixture(scope="module")
def both() -> dict[str, Any]:
    return template_of("both_doors")


def api_policy(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The REST API's resource policy statements by Sid."""
    policy = only(template, "AWS::ApiGateway::RestApi")["Properties"]["Policy"]
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def methods_of(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [m["Properties"] for m in resources_of(template, "AWS::ApiGateway::Method").values()]


def stage_of(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::ApiGateway::Stage")["Properties"]


def refusal(**context: Any) -> str:
    with pytest.raises(ConfigurationError) as raised:
        build_app(new_app(**context, compliance="off"))
    return str(raised.value)


# --- the only door ------------------------------------------------------------------------------------


def test_the_private_door_stack_has_no_function_url(private: dict[str, Any]) -> None:
    assert resources_of(private, "AWS::Lambda::Url") == {}


def test_the_private_door_stack_never_mentions_invoke_function_url(private: dict[str, Any]) -> None:
    assert "lambda:InvokeFunctionUrl" not in json.dumps(private)


def test_the_private_door_stack_outputs_the_api_url_and_endpoint_instead_of_the_function_url(
    private: dict[str, Any],
) -> None:
    outputs = private["Outputs"]
    assert "InvokeUrl" not in outputs
    assert {"PrivateApiUrl", "PrivateApiVpcEndpointId"} <= set(outputs)
    url = json.dumps(outputs["PrivateApiUrl"]["Value"])
    stage = next(iter(resources_of(private, "AWS::ApiGateway::Stage")))
    assert '"https://"' in url and '".execute-api."' in url and f'{{"Ref": "{stage}"}}, "/"' in url


def test_the_api_is_private(private: dict[str, Any]) -> None:
    api = only(private, "AWS::ApiGateway::RestApi")["Properties"]
    assert api["EndpointConfiguration"]["Types"] == ["PRIVATE"]


# --- who may call -------------------------------------------------------------------------------------


def test_the_resource_policy_denies_every_request_not_through_an_allowed_endpoint(
    private: dict[str, Any],
) -> None:
    deny = api_policy(private)["DenyOutsideAllowedVpcEndpoints"]
    (endpoint,) = _execute_api_endpoints(private)
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Resource"] == "execute-api:/*"
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": [{"Ref": endpoint}]}}


def test_the_resource_policy_allows_the_routes_through_the_allowed_endpoints(private: dict[str, Any]) -> None:
    allow = api_policy(private)["AllowThroughAllowedVpcEndpoints"]
    assert allow["Effect"] == "Allow"
    assert allow["Action"] == "execute-api:Invoke"
    assert set(allow["Resource"]) == {f"execute-api:/*/{method}{path}" for path, method in METHODS}
    assert list(allow["Condition"]) == ["StringEquals"]
    assert "aws:SourceVpce" in allow["Condition"]["StringEquals"]


def test_the_allow_names_this_account_so_its_callers_need_their_own_grant(private: dict[str, Any]) -> None:
    principal = api_policy(private)["AllowThroughAllowedVpcEndpoints"]["Principal"]["AWS"]
    assert ":root" in json.dumps(principal) and "AWS::AccountId" in json.dumps(principal)


def test_every_method_requires_iam(private: dict[str, Any]) -> None:
    assert {m["AuthorizationType"] for m in methods_of(private)} == {"AWS_IAM"}


def test_the_routes_are_the_proxys_own() -> None:
    from invoke_proxy import routes

    for path, method in METHODS:
        assert method in routes.REGISTRY[path].methods
    assert {path for path, _ in METHODS} == set(routes.REGISTRY)


def test_every_route_streams_from_the_response_streaming_invocations_uri(private: dict[str, Any]) -> None:
    methods = methods_of(private)
    assert len(methods) == len(METHODS)
    for method in methods:
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["ResponseTransferMode"] == "STREAM"
        uri = json.dumps(integration["Uri"])
        assert "/2021-11-15/functions/" in uri and "/response-streaming-invocations" in uri


def test_a_stream_may_last_as_long_as_the_function(private: dict[str, Any]) -> None:
    function = only(private, "AWS::Lambda::Function")["Properties"]
    timeouts = {m["Integration"]["TimeoutInMillis"] for m in methods_of(private)}
    assert timeouts == {function["Timeout"] * 1000}


def test_api_gateway_may_invoke_the_function_only_from_this_api(private: dict[str, Any]) -> None:
    permission = only(private, "AWS::Lambda::Permission")["Properties"]
    api = next(iter(resources_of(private, "AWS::ApiGateway::RestApi")))
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert {"Ref": api} in permission["SourceArn"]["Fn::Join"][1]


# --- the endpoint in the stack's VPC ------------------------------------------------------------------


def _execute_api_endpoints(template: dict[str, Any]) -> set[str]:
    return {
        name
        for name, endpoint in resources_of(template, "AWS::EC2::VPCEndpoint").items()
        if "execute-api" in json.dumps(endpoint["Properties"]["ServiceName"])
    }


def test_the_execute_api_endpoint_has_private_dns_in_the_isolated_subnets(private: dict[str, Any]) -> None:
    (name,) = _execute_api_endpoints(private)
    endpoint = private["Resources"][name]["Properties"]
    assert endpoint["PrivateDnsEnabled"] is True
    assert endpoint["VpcEndpointType"] == "Interface"
    assert len(endpoint["SubnetIds"]) == 2


def test_the_endpoints_own_security_group_admits_443_from_the_vpc_only(private: dict[str, Any]) -> None:
    (name,) = _execute_api_endpoints(private)
    (group_id,) = private["Resources"][name]["Properties"]["SecurityGroupIds"]
    group = private["Resources"][group_id["Fn::GetAtt"][0]]["Properties"]
    assert group["SecurityGroupIngress"] == [
        {
            "CidrIp": "10.0.0.0/16",
            "Description": "HTTPS to the private Mistral API",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


# --- the stage ----------------------------------------------------------------------------------------


def test_access_logs_go_to_a_stack_log_group_as_json(private: dict[str, Any]) -> None:
    settings = stage_of(private)["AccessLogSetting"]
    groups = resources_of(private, "AWS::Logs::LogGroup")
    assert any({"Ref": name} in settings["DestinationArn"]["Fn::Join"][1] for name in groups)
    assert json.loads(settings["Format"]) == ACCESS_LOG_FIELDS


def test_access_logs_name_the_caller_the_endpoint_and_the_lambda_request_id() -> None:
    logged = set(ACCESS_LOG_FIELDS.values())
    assert {
        "$context.requestId",
        "$context.extendedRequestId",
        "$context.identity.userArn",
        "$context.identity.caller",
        "$context.identity.accountId",
        "$context.identity.sourceIp",
        "$context.identity.vpceId",
        "$context.httpMethod",
        "$context.resourcePath",
        "$context.status",
        "$context.responseLatency",
        "$context.integrationLatency",
        "$context.integration.requestId",
    } <= logged


def test_execution_logging_and_data_trace_are_off(private: dict[str, Any]) -> None:
    (settings,) = stage_of(private)["MethodSettings"]
    assert settings["LoggingLevel"] == "OFF"
    assert settings["DataTraceEnabled"] is False
    assert settings["CachingEnabled"] is False


def test_the_stage_throttles_at_the_defaults(private: dict[str, Any]) -> None:
    (settings,) = stage_of(private)["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (10, 20)


def test_the_stage_throttles_as_the_context_says() -> None:
    app = build_app(
        new_app(frontDoor="private", privateApiRateLimit="3", privateApiBurstLimit="7", compliance="off")
    )
    template = app.synth().get_stack_by_name("MistralEndpointStack").template
    (settings,) = stage_of(template)["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (3, 7)


def test_the_private_api_joins_the_alarms(private: dict[str, Any], template: dict[str, Any]) -> None:
    def names(t: dict[str, Any]) -> set[str]:
        alarms = resources_of(t, "AWS::CloudWatch::Alarm").values()
        return {a["Properties"].get("AlarmName", "").rsplit("-", 1)[-1] for a in alarms}

    assert {"PrivateApiServerErrorRate", "PrivateApiLatencyP90"} <= names(private)
    assert not {"PrivateApiServerErrorRate", "PrivateApiLatencyP90"} & names(template)


def server_error_expression(template: dict[str, Any]) -> str:
    (alarm,) = [
        a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if "PrivateApiServerErrorRate" in json.dumps(a["Properties"].get("AlarmName", ""))
    ]
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    return str(expression)


@pytest.mark.parametrize(
    ("errors", "wake", "requests", "rate"),
    [(2, 0, 10, 20.0), (2, 1, 10, 10.0), (1, 3, 10, 0), (0, 0, 0, 0)],
    ids=["errors", "a-wake-excluded", "more-wakes-than-errors-through-both-doors", "no-requests"],
)
def test_the_api_error_rate_excludes_wake_ups_and_never_goes_below_zero(
    both: dict[str, Any], errors: int, wake: int, requests: int, rate: float
) -> None:
    # CloudWatch metric math's IF and FILL, evaluated on one data point of each metric.
    functions = {
        "IF": lambda condition, yes, no: yes() if condition else no(),
        "FILL": lambda value, default: value,
    }
    # Each branch becomes a lambda, so that only the branch IF picks is evaluated (no division by zero requests).
    expression = server_error_expression(both)
    lazy = (
        expression.replace(", 100", ", lambda: 100")
        .replace(", 0)", ", lambda: 0)")
        .replace(", IF(", ", lambda: IF(")
    )
    names = {**functions, "errors": errors, "wake": wake, "requests": requests}
    assert eval(lazy, names) == rate  # the template's own expression, evaluated in a test


# --- both doors ---------------------------------------------------------------------------------------


def test_both_doors_front_one_function(both: dict[str, Any]) -> None:
    (function,) = resources_of(both, "AWS::Lambda::Function")
    url = only(both, "AWS::Lambda::Url")["Properties"]
    assert url["TargetFunctionArn"] == {"Fn::GetAtt": [function, "Arn"]}
    for method in methods_of(both):
        assert {"Fn::GetAtt": [function, "Arn"]} in method["Integration"]["Uri"]["Fn::Join"][1]
    assert {"InvokeUrl", "PrivateApiUrl"} <= set(both["Outputs"])


def test_without_streaming_the_private_door_is_buffered() -> None:
    app = build_app(new_app(frontDoor="private", streaming="false", compliance="off"))
    template = app.synth().get_stack_by_name("MistralEndpointStack").template
    for method in methods_of(template):
        integration = method["Integration"]
        assert integration.get("ResponseTransferMode", "BUFFERED") == "BUFFERED"
        assert "/2015-03-31/functions/" in json.dumps(integration["Uri"])


# --- grants -------------------------------------------------------------------------------------------


def endpoint_with(door: str) -> tuple[cdk.Stack, MistralEndpoint]:
    stack = cdk.Stack(new_app(), "Granted")
    return stack, MistralEndpoint(stack, "Mistral", front_door_options=FrontDoorOptions(front_door=door))


def template_json(stack: cdk.Stack) -> dict[str, Any]:
    return dict(assertions.Template.from_stack(stack).to_json())


def statements(stack: cdk.Stack, logical_type: str = "AWS::IAM::Policy") -> list[dict[str, Any]]:
    template = template_json(stack)
    return [
        statement
        for policy in resources_of(template, logical_type).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_grant_invoke_gives_execute_api_invoke_on_this_apis_methods() -> None:
    stack, mistral = endpoint_with("private")
    role = iam.Role(stack, "App", assumed_by=iam.AccountRootPrincipal())
    mistral.grant_invoke(role)
    (statement,) = statements(stack)
    assert statement["Action"] == "execute-api:Invoke"
    resources = json.dumps(statement["Resource"])
    assert resources.count("execute-api:") == len(METHODS)
    api = next(iter(resources_of(template_json(stack), "AWS::ApiGateway::RestApi")))
    assert resources.count(f'{{"Ref": "{api}"}}') == len(METHODS)
    for path, method in METHODS:
        assert f"/{method}{path}" in resources


def test_grant_invoke_on_the_private_door_grants_nothing_on_lambda() -> None:
    stack, mistral = endpoint_with("private")
    mistral.grant_invoke(iam.Role(stack, "App", assumed_by=iam.AccountRootPrincipal()))
    assert "lambda:" not in json.dumps(statements(stack))


def test_grant_invoke_admits_another_accounts_principal_in_the_resource_policy() -> None:
    stack, mistral = endpoint_with("private")
    mistral.grant_invoke(iam.ArnPrincipal(OTHER_ACCOUNT_ROLE))
    template = template_json(stack)
    principals = api_policy(template)["AllowThroughAllowedVpcEndpoints"]["Principal"]["AWS"]
    assert OTHER_ACCOUNT_ROLE in principals


def test_grant_invoke_keeps_this_accounts_principals_out_of_the_resource_policy() -> None:
    stack, mistral = endpoint_with("private")
    mistral.grant_invoke(iam.Role(stack, "App", assumed_by=iam.AccountRootPrincipal()))
    template = template_json(stack)
    principal = api_policy(template)["AllowThroughAllowedVpcEndpoints"]["Principal"]["AWS"]
    assert isinstance(principal, dict)  # this account's root alone


def test_grant_invoke_with_both_doors_grants_both() -> None:
    stack, mistral = endpoint_with("both")
    mistral.grant_invoke(iam.Role(stack, "App", assumed_by=iam.AccountRootPrincipal()))
    actions = {
        a for s in statements(stack) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"execute-api:Invoke", "lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} <= actions


def test_grant_invoke_url_is_refused_without_a_function_url() -> None:
    stack, mistral = endpoint_with("private")
    with pytest.raises(ConfigurationError, match="no function URL"):
        mistral.grant_invoke_url(iam.Role(stack, "App", assumed_by=iam.AccountRootPrincipal()))


# --- what is refused ----------------------------------------------------------------------------------


def test_an_unknown_door_is_refused_naming_the_allowed_ones() -> None:
    assert refusal(frontDoor="vpc") == "context frontDoor='vpc': must be one of url, private, both, got 'vpc'"


def test_a_private_door_with_no_endpoint_at_all_is_refused() -> None:
    message = refusal(frontDoor="private", createPrivateApiEndpoint="false")
    assert message.startswith("context createPrivateApiEndpoint='false': ")
    assert "unreachable" in message and "private_api_vpc_endpoint_ids" in message


def test_a_malformed_endpoint_id_is_refused() -> None:
    assert refusal(frontDoor="private", privateApiVpcEndpointIds="vpce-123,endpoint-9") == (
        "context privateApiVpcEndpointIds='vpce-123,endpoint-9': must hold VPC endpoint ids like "
        "vpce-0a1b2c3d4e5f67890, got 'endpoint-9'"
    )


def test_private_door_props_without_a_private_door_are_refused() -> None:
    message = refusal(privateApiVpcEndpointIds="vpce-0a1b2c3d4e5f67890")
    assert (
        "private_api_vpc_endpoint_ids configure the private API: set front_door='private' or 'both'"
        in message
    )


@pytest.mark.parametrize(
    "ids",
    ["vpce-0a1b2c3d4e5f67890, vpce-0123", ["vpce-0a1b2c3d4e5f67890", "vpce-0123"]],
    ids=["comma-separated (-c)", "a JSON list (cdk.json)"],
)
def test_endpoint_ids_from_context_are_admitted_beside_the_created_endpoint(ids: str | list[str]) -> None:
    app = build_app(new_app(frontDoor="private", privateApiVpcEndpointIds=ids, compliance="off"))
    template = app.synth().get_stack_by_name("MistralEndpointStack").template
    allowed = api_policy(template)["DenyOutsideAllowedVpcEndpoints"]["Condition"]["StringNotEquals"][
        "aws:SourceVpce"
    ]
    assert allowed[1:] == ["vpce-0a1b2c3d4e5f67890", "vpce-0123"]


def test_only_listed_endpoints_without_the_created_one() -> None:
    stack = cdk.Stack(new_app(), "Listed")
    MistralEndpoint(
        stack,
        "Mistral",
        front_door_options=FrontDoorOptions(
            front_door="private",
            create_private_api_endpoint=False,
            private_api_vpc_endpoint_ids=["vpce-0abc"],
        ),
    )
    template = template_json(stack)
    assert _execute_api_endpoints(template) == set()
    deny = api_policy(template)["DenyOutsideAllowedVpcEndpoints"]
    assert deny["Condition"]["StringNotEquals"]["aws:SourceVpce"] == ["vpce-0abc"]


def test_the_burst_defaults_to_no_more_than_the_reserved_concurrency() -> None:
    stack = cdk.Stack(new_app(), "Reserved")
    MistralEndpoint(
        stack,
        "Mistral",
        front_door_options=FrontDoorOptions(front_door="private"),
        proxy_options=ProxyOptions(proxy_reserved_concurrent_executions=5),
    )
    template = template_json(stack)
    (settings,) = stage_of(template)["MethodSettings"]
    assert settings["ThrottlingBurstLimit"] == 5
