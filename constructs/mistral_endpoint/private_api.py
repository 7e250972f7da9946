"""The private front door: a REST API of endpoint type PRIVATE in front of the invoke proxy (:class:`PrivateApi`).

Reachable only through ``execute-api`` interface VPC endpoints, IAM-signed on every method, streaming the proxy's
answers. The facts it relies on:

- A PRIVATE REST API is reached only through ``execute-api`` interface endpoints, and its resource policy decides
  which: the API Gateway developer guide's private API policy ("Example: Allow private API traffic based on source
  VPC or VPC endpoint", apigateway-resource-policies-examples) denies ``execute-api:Invoke`` on ``execute-api:/*``
  when ``aws:SourceVpce`` is not the allowed endpoint, and allows it otherwise.
- With IAM authorization, a caller of the API's own account passes if its identity policy *or* the resource
  policy allows it; a caller of another account needs both (developer guide, "How API Gateway resource policies
  affect authorization workflow", table B). The Allow here names this account (delegating to its IAM policies:
  :meth:`PrivateApi.grant_invoke` writes them) and the other accounts' principals that were granted.
- ``responseTransferMode: STREAM`` on a Lambda proxy integration calls InvokeWithResponseStream (integration URI
  ``/2021-11-15/functions/{arn}/response-streaming-invocations``, aws-cdk-lib's ``LambdaIntegration``); a stream
  lasts at most 15 minutes, idles at most 5 minutes on private endpoints, and rules out caching, content encoding
  and VTL transforms; the integration timeout may be raised to 15 minutes in this mode (developer guide, "Stream
  the integration response for your proxy integrations", response-transfer-mode; "Set up an HTTP proxy
  integration with payload response streaming"). Buffered integrations stop at 29 seconds unless the quota is
  raised.
- InvokeWithResponseStream is authorized by ``lambda:InvokeFunction`` (Lambda API reference,
  InvokeWithResponseStream): the one permission CDK adds for API Gateway covers both modes.
- Access logs need the region's API Gateway CloudWatch Logs role set once per account (developer guide, "Set up
  CloudWatch logging for REST APIs"); ``@aws-cdk/aws-apigateway:disableCloudWatchRole`` keeps CDK from creating
  an account-wide ``AWS::ApiGateway::Account`` here.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Names, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ._compliance import acknowledge, acknowledge_all, acknowledge_checkov, in_packs
from ._lambda import contract
from ._logs import new_log_group
from ._validation import ConfigurationError, is_unresolved, require_bool, require_int
from .defaults import DEFAULTS
from .network import ISOLATED_SUBNETS
from .props import FrontDoorOptions, LogOptions, part_of

if TYPE_CHECKING:  # imported where the API is built: a stack without a private door never loads the module
    from aws_cdk import aws_apigateway as apigateway

#: Each route of the proxy and the method the private API serves it on (the runtime's routes.REGISTRY: the model
#: routes answer POST, the health route GET).
METHODS: tuple[tuple[str, str], ...] = (
    (contract.GENERATE, "POST"),
    (contract.CHAT, "POST"),
    (contract.OPENAI_CHAT, "POST"),
    (contract.HEALTH, "GET"),
)
#: The stage the API is deployed to: its URL is https://{api-id}.execute-api.{region}.amazonaws.com/prod/.
STAGE_NAME = "prod"
#: Longest a streamed answer can last through API Gateway (developer guide, response-transfer-mode).
STREAM_LIMIT_SECONDS = 15 * 60
_VPCE_ID = re.compile(r"^vpce-[0-9a-f]+$")

# One JSON object per request (access logging variables: developer guide, "Variables for access logging for API
# Gateway"). The caller's identity as IAM authenticated it, the endpoint it came through, and
# $context.integration.requestId: Lambda's request id of the invocation, which every proxy log line carries.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "userArn": "$context.identity.userArn",
    "caller": "$context.identity.caller",
    "accountId": "$context.identity.accountId",
    "sourceIp": "$context.identity.sourceIp",
    "vpceId": "$context.identity.vpceId",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "lambdaRequestId": "$context.integration.requestId",
    "error": "$context.error.message",
}


class PrivateApi(Construct):
    """A REST API of endpoint type PRIVATE in front of the proxy function: the private front door.

    The proxy's routes (``/generate``, ``/chat``, ``/v1/chat/completions`` on POST, ``/health`` on GET), each with
    ``AWS_IAM`` authorization and a Lambda proxy integration to the same function, streamed (``STREAM``) when the
    function streams. A resource policy admits only requests through the allowed ``execute-api`` endpoints and
    explicitly denies the rest; the stage writes JSON access logs, throttles, and logs no request or answer.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        streaming: bool,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        front_door_options: FrontDoorOptions | None = None,
        log_options: LogOptions | None = None,
        proxy_concurrency: int | None = None,
    ) -> None:
        """
        :param function: the invoke proxy's function (``InvokeProxy.function``).
        :param streaming: whether it streams (the Web Adapter's function): integrations in ``STREAM`` mode;
            false: buffered integrations (29 seconds at most), the buffered handler's REST API events.
        :param vpc: where to create the ``execute-api`` interface endpoint (``create_private_api_endpoint``).
        :param vpc_subnets: the endpoint's subnets. Default: the VPC's isolated subnets.
        :param front_door_options: the endpoints admitted, their peers, the stage's throttling
            (:class:`FrontDoorOptions`; ``front_door`` is MistralEndpoint's).
        :param log_options: the access log group's retention, key and removal (:class:`LogOptions`).
        :param proxy_concurrency: the function's reserved concurrency, if any: the burst defaults to no more.
        """
        super().__init__(scope, id)
        options = part_of(FrontDoorOptions, front_door_options, {})
        log_options = part_of(LogOptions, log_options, {})
        rate, burst = check_private_api_options(options, proxy_concurrency)
        #: The ``execute-api`` interface endpoint created in ``vpc`` (None with ``create_private_api_endpoint=False``).
        self.vpc_endpoint: ec2.InterfaceVpcEndpoint | None = None
        if options.create_private_api_endpoint:
            self.vpc_endpoint = self._create_endpoint(vpc, vpc_subnets, options.private_api_endpoint_peers)
        #: The ``execute-api`` endpoints the resource policy admits.
        self.allowed_vpc_endpoint_ids: list[str] = [
            *([self.vpc_endpoint.vpc_endpoint_id] if self.vpc_endpoint else []),
            *options.private_api_vpc_endpoint_ids,
        ]
        self.access_logs = new_log_group(
            self,
            "AccessLogs",
            retention=log_options.log_retention,
            encryption_key=log_options.log_encryption_key,
            removal_policy=log_options.removal_policy,
            holds="The private API's access logs (one JSON line per request: the caller's IAM identity, the VPC "
            "endpoint, route, status, latencies, Lambda's request id; no request or answer text)",
        )
        self._allow = _allow_statement(self.allowed_vpc_endpoint_ids)
        #: The REST API.
        self.api = self._create_api(rate, burst)
        #: The streamed (or buffered) integrations' methods, one per route.
        self.methods: list[apigateway.Method] = self._add_routes(function, streaming)
        #: The stage's invoke URL, https://{api-id}.execute-api.{region}.amazonaws.com/prod/ (ends with "/").
        self.url: str = self.api.url
        #: The stage (its ``metric_*`` methods read the API's CloudWatch metrics).
        self.stage: apigateway.Stage = self.api.deployment_stage
        #: The integration timeout: the function's own timeout when streaming (at most 15 minutes), else 29 s.
        self.integration_timeout: Duration = _integration_timeout(function, streaming)
        _acknowledge(self, streaming)

    def _create_endpoint(
        self,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        peers: Sequence[ec2.IPeer | ec2.IConnectable | str] | None,
    ) -> ec2.InterfaceVpcEndpoint:
        if vpc is None:
            raise ConfigurationError(
                "create_private_api_endpoint needs the VPC to create the execute-api endpoint in: pass vpc, or "
                "set create_private_api_endpoint=False and list your endpoints in private_api_vpc_endpoint_ids",
                prop="create_private_api_endpoint",
            )
        # Created in this construct's scope, with its own security group (open=False: nothing is admitted
        # until a peer is), like the network's sagemaker.runtime endpoint.
        endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "ExecuteApiEndpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
            subnets=vpc_subnets or ISOLATED_SUBNETS,
            private_dns_enabled=True,
            open=False,
        )
        for peer in _peers(vpc, peers):
            endpoint.connections.allow_from(peer, ec2.Port.tcp(443), "HTTPS to the private Mistral API")
        return endpoint

    def _create_api(self, rate: int, burst: int) -> apigateway.RestApi:
        from aws_cdk import aws_apigateway as apigateway

        deny = iam.PolicyStatement(
            sid="DenyOutsideAllowedVpcEndpoints",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["execute-api:Invoke"],
            resources=["execute-api:/*"],
            conditions={"StringNotEquals": {"aws:SourceVpce": self.allowed_vpc_endpoint_ids}},
        )
        api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=Names.unique_id(self),
            description="Mistral 7B invoke proxy, private: reachable through the allowed execute-api VPC endpoints",
            endpoint_types=[apigateway.EndpointType.PRIVATE],
            policy=iam.PolicyDocument(statements=[deny, self._allow]),
            cloud_watch_role=False,
            default_method_options=apigateway.MethodOptions(
                authorization_type=apigateway.AuthorizationType.IAM
            ),
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigateway.LogGroupLogDestination(self.access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                # Execution logs would hold request and answer bodies: prompts and completions.
                logging_level=apigateway.MethodLoggingLevel.OFF,
                data_trace_enabled=False,
                metrics_enabled=False,
                caching_enabled=False,
                tracing_enabled=True,
                throttling_rate_limit=rate,
                throttling_burst_limit=burst,
            ),
        )
        # RestApi adds a stack output of its URL; the stack names its own (PrivateApiUrl).
        api.node.try_remove_child("Endpoint")
        return api

    def _add_routes(self, function: lambda_.IFunction, streaming: bool) -> list[apigateway.Method]:
        from aws_cdk import aws_apigateway as apigateway

        # One permission for API Gateway, on this API's ARN (arn:...:execute-api:REGION:ACCOUNT:API/*/*/*), rather
        # than two per method (CDK's default adds one for the test console per method too).
        integration = apigateway.LambdaIntegration(
            function,
            proxy=True,
            response_transfer_mode=apigateway.ResponseTransferMode.STREAM if streaming else None,
            timeout=_integration_timeout(function, streaming) if streaming else None,
            scope_permission_to_method=False,
        )
        return [
            self.api.root.resource_for_path(path).add_method(method, integration) for path, method in METHODS
        ]

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to call every route through the allowed VPC endpoints: CDK's own
        ``Method.grant_execute`` on each method (``execute-api:Invoke`` on its ARN, in the grantee's identity
        policy). A principal of another account is also admitted by the resource policy, as cross-account IAM
        authorization requires; its own account must still allow it (its identity policy), and it must come
        through an endpoint of ``private_api_vpc_endpoint_ids``."""
        grant = functools.reduce(
            lambda combined, method_grant: combined.combine(method_grant),
            [method.grant_execute(grantee) for method in self.methods],
        )
        principal = grantee.grant_principal
        if not self._same_account(principal):
            self._allow.add_principals(principal)
        return grant

    def _same_account(self, principal: iam.IPrincipal) -> bool:
        """As ``iam.Grant.add_to_principal_or_resource`` decides: the same account, or both unknown until deploy."""
        account = principal.principal_account
        if account is None:
            return False
        # Token.compare_strings' TokenComparison values do not compare equal in Python (jsii proxies): the same
        # rule, spelled out. Two deploy-time accounts are taken for the same, as CDK does.
        ours = Stack.of(self).account
        if Token.is_unresolved(ours) or Token.is_unresolved(account):
            return Token.is_unresolved(ours) and Token.is_unresolved(account)
        return bool(ours == account)


def check_private_api_options(
    options: FrontDoorOptions, proxy_concurrency: int | None = None
) -> tuple[int, int]:
    """The private door's props as AWS would take them; the stage's rate and burst."""
    require_bool("create_private_api_endpoint", options.create_private_api_endpoint)
    ids = options.private_api_vpc_endpoint_ids
    if isinstance(ids, str):
        raise ConfigurationError(
            f"private_api_vpc_endpoint_ids must be a list of ids, got the string {ids!r}: pass [{ids!r}]",
            prop="private_api_vpc_endpoint_ids",
        )
    for vpce in ids:
        if not is_unresolved(vpce) and not (isinstance(vpce, str) and _VPCE_ID.match(vpce)):
            raise ConfigurationError(
                f"private_api_vpc_endpoint_ids must hold VPC endpoint ids like vpce-0a1b2c3d4e5f67890, got {vpce!r}",
                prop="private_api_vpc_endpoint_ids",
            )
    if not options.create_private_api_endpoint and not ids:
        raise ConfigurationError(
            "create_private_api_endpoint=False and no private_api_vpc_endpoint_ids leave the private API "
            "unreachable: list the execute-api endpoints to admit, or let the stack create one",
            prop="create_private_api_endpoint",
        )
    rate = require_int("private_api_rate_limit", options.private_api_rate_limit, minimum=1, maximum=10_000)
    if options.private_api_burst_limit is not None:
        burst = require_int(
            "private_api_burst_limit", options.private_api_burst_limit, minimum=1, maximum=5_000
        )
    else:
        burst = min(
            DEFAULTS.private_api_burst_requests, proxy_concurrency or DEFAULTS.private_api_burst_requests
        )
    return rate, burst


def _allow_statement(allowed_ids: list[str]) -> iam.PolicyStatement:
    """Invoke on the proxy's routes, for this account's IAM principals (and the other accounts' granted ones),
    through the allowed endpoints only."""
    return iam.PolicyStatement(
        sid="AllowThroughAllowedVpcEndpoints",
        principals=[iam.AccountRootPrincipal()],
        actions=["execute-api:Invoke"],
        # execute-api:/STAGE/METHOD/PATH: API Gateway expands it to this API's ARN when it saves the policy.
        resources=[f"execute-api:/*/{method}{path}" for path, method in METHODS],
        conditions={"StringEquals": {"aws:SourceVpce": allowed_ids}},
    )


def _peers(
    vpc: ec2.IVpc, given: Sequence[ec2.IPeer | ec2.IConnectable | str] | None
) -> list[ec2.IConnectable]:
    if given is None:
        try:
            return [ec2.Peer.ipv4(_vpc_cidr(vpc))]
        except RuntimeError as error:  # an imported VPC whose CIDR was not given
            raise ConfigurationError(
                "private_api_endpoint_peers defaults to the VPC's CIDR, which this imported VPC does not give: "
                "pass the CIDRs or security groups to admit on 443",
                prop="private_api_endpoint_peers",
            ) from error
    if isinstance(given, str):
        given = [given]
    return [(ec2.Peer.ipv6(p) if ":" in p else ec2.Peer.ipv4(p)) if isinstance(p, str) else p for p in given]


def _vpc_cidr(vpc: ec2.IVpc) -> str:
    """The VPC's CIDR, as a literal where the template states it (a VPC made in this app), so that the
    compliance packs can read the security group rule; the deploy-time value otherwise."""
    vpc_resource = vpc.node.default_child
    cidr = vpc_resource.cidr_block if isinstance(vpc_resource, ec2.CfnVPC) else None
    if isinstance(cidr, str) and not Token.is_unresolved(cidr):
        return cidr
    return vpc.vpc_cidr_block


def _integration_timeout(function: lambda_.IFunction, streaming: bool) -> Duration:
    """Streaming: the function's timeout, so API Gateway never cuts a stream the function still writes (at most
    the 15-minute stream limit). Buffered: API Gateway's default 29 seconds."""
    if not streaming:
        return Duration.seconds(29)
    timeout = function.timeout if isinstance(function, lambda_.Function) else None
    if timeout is None or timeout.to_seconds() > STREAM_LIMIT_SECONDS:
        return Duration.seconds(STREAM_LIMIT_SECONDS)
    return timeout


def _acknowledge(door: PrivateApi, streaming: bool) -> None:
    """The API's findings that do not apply to a private, IAM-authorized, streaming API: each with its reason."""
    stage: Any = door.stage.node.default_child
    waf = (
        "A PRIVATE REST API: reachable only through the execute-api VPC endpoints its resource policy lists "
        "(everything else explicitly denied), every method IAM-signed (AWS_IAM), requests validated by the "
        "proxy and throttled at the stage; no internet-facing surface for a web ACL to filter"
    )
    execution_logs = (
        "Execution logging is off on purpose: it would write request and answer bodies (prompts and "
        "completions) to CloudWatch; the stage's JSON access log records every request's caller, endpoint, "
        "route, status, latencies and Lambda request id instead"
    )
    # checkov 3 (CloudFormation) has no WAF, execution-logging or client-certificate check for REST APIs; it
    # reports caching (CKV_AWS_120).
    cache = (
        "No cache: "
        + (
            "STREAM integrations cannot use endpoint caching (API Gateway developer guide, response-transfer-mode)"
            if streaming
            else "every answer is a fresh generation (sampling, per-caller prompts): a cached answer would be "
            "another caller's"
        )
        + "; nothing is stored to encrypt"
    )
    acknowledge_checkov(stage, "CKV_AWS_120", cache)
    backend_tls = (
        "The only backend is the proxy function, reached through Lambda's own API (SigV4 over TLS); a client "
        "certificate authenticates API Gateway to HTTP backends, which this API has none of"
    )
    acknowledge_all(  # one call for the stage's findings, in the order they were written
        door.stage,
        {
            "AwsSolutions::AwsSolutions-APIG3": waf,
            **in_packs("APIGWAssociatedWithWAF", waf),
            "AwsSolutions::AwsSolutions-APIG6": execution_logs,
            **in_packs("APIGWExecutionLoggingEnabled", execution_logs),
            **in_packs("APIGWCacheEnabledAndEncrypted", cache),
            **in_packs("APIGWSSLEnabled", backend_tls),
        },
    )
    acknowledge(
        door.api,
        "AwsSolutions::AwsSolutions-APIG2",
        "The proxy validates every request itself (the JSON body's fields, roles, token limits) and answers 400 "
        "or 422 with a message naming the field to fix, the same behind both doors; a gateway validator without "
        "body models would check nothing, and with them would refuse in less precise terms",
    )
    for method in door.methods:
        acknowledge(
            method,
            "AwsSolutions::AwsSolutions-COG4",
            "Callers are AWS principals (applications' IAM roles, in this and other accounts), authorized by "
            "AWS_IAM on every method with SigV4: there are no Cognito users to authorize",
        )
