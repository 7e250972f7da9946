"""MistralEndpoint: the whole pattern (network, model hosting, invoke proxy) in one construct."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct

from .hosting import DEFAULT_INSTANCE_TYPE, MistralModelEndpoint, _EndpointMetrics
from .model import MISTRAL_7B_MAX_TOTAL_TOKENS, MistralModel
from .network import IsolatedNetwork
from .proxy import InvokeProxy


class _Logging(TypedDict):
    """The log settings every part takes alike."""

    log_retention: logs.RetentionDays
    log_encryption_key: kms.IKey | None
    removal_policy: RemovalPolicy


class MistralEndpoint(Construct, _EndpointMetrics):
    """Mistral 7B on a private SageMaker endpoint, called through a signed Lambda function URL.

    With no props: Mistral 7B Instruct (JumpStart weights) on the Hugging Face TGI 1.1 container, one
    ml.g5.2xlarge, network-isolated in a new VPC of isolated subnets, and an IAM-authenticated invoke
    proxy in the same subnets. Every part is also importable on its own: :class:`IsolatedNetwork`,
    :class:`MistralModelEndpoint`, :class:`InvokeProxy`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: MistralModel | None = None,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        initial_instance_count: int = 1,
        max_input_length: int = 8191,
        max_total_tokens: int = MISTRAL_7B_MAX_TOTAL_TOKENS,
        max_batch_prefill_tokens: int | None = None,
        max_concurrent_requests: int | None = None,
        container_environment: Mapping[str, str] | None = None,
        startup_health_check_timeout: Duration | None = None,
        model_data_download_timeout: Duration | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        create_vpc_endpoints: bool = True,
        role: iam.IRole | None = None,
        endpoint_name: str | None = None,
        proxy_in_vpc: bool = True,
        auth_type: lambda_.FunctionUrlAuthType = lambda_.FunctionUrlAuthType.AWS_IAM,
        default_max_new_tokens: int = 512,
        log_prompts: bool = False,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
    ) -> None:
        """See the README's props table; each prop documents its default where it is passed on."""
        super().__init__(scope, id)
        self.model = model or MistralModel.instruct()
        logging = _Logging(
            log_retention=log_retention, log_encryption_key=log_encryption_key, removal_policy=removal_policy
        )
        #: The VPC and its endpoints.
        self.network = IsolatedNetwork(
            self,
            "Network",
            model=self.model,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            create_vpc_endpoints=create_vpc_endpoints,
            **logging,
        )
        #: The SageMaker model, endpoint configuration and endpoint.
        self.hosting = MistralModelEndpoint(
            self,
            "Hosting",
            vpc=self.network.vpc,
            vpc_subnets=self.network.subnets,
            model=self.model,
            instance_type=instance_type,
            initial_instance_count=initial_instance_count,
            max_input_length=max_input_length,
            max_total_tokens=max_total_tokens,
            max_batch_prefill_tokens=max_batch_prefill_tokens,
            max_concurrent_requests=max_concurrent_requests,
            container_environment=container_environment,
            startup_health_check_timeout=startup_health_check_timeout,
            model_data_download_timeout=model_data_download_timeout,
            role=role,
            endpoint_name=endpoint_name,
            **logging,
        )
        #: The Lambda invoke proxy and its function URL.
        self.proxy = InvokeProxy(
            self,
            "Proxy",
            endpoint=self.hosting,
            vpc=self.network.vpc if proxy_in_vpc else None,
            vpc_subnets=self.network.subnets if proxy_in_vpc else None,
            auth_type=auth_type,
            default_max_new_tokens=default_max_new_tokens,
            log_prompts=log_prompts,
            **logging,
        )
        if proxy_in_vpc:
            self.network.allow_runtime_from(self.proxy.connections)

        self.vpc: ec2.IVpc = self.network.vpc
        self.endpoint_name: str = self.hosting.endpoint_name
        self.endpoint_arn: str = self.hosting.endpoint_arn
        self.role: iam.IRole = self.hosting.role
        self.function: lambda_.Function = self.proxy.function
        self.invoke_url: str = self.proxy.invoke_url
        #: The proxy's network access (allow it to reach your own services through this).
        self.connections: ec2.Connections = self.proxy.connections

    def grant_invoke_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to call the function URL (lambda:InvokeFunctionUrl and lambda:InvokeFunction)."""
        return self.proxy.grant_invoke_url(grantee)
