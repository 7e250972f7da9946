"""The private network the model and the proxy live in: isolated subnets and the VPC endpoints they need."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._compliance import acknowledge_in_packs
from ._logs import new_log_group
from ._validation import ConfigurationError, require_bool
from .model import MistralModel
from .props import LogOptions, NetworkOptions, part_of, split_flat_props

#: Where the model and the proxy run unless told otherwise: the VPC's isolated subnets.
ISOLATED_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> ec2.SelectedSubnets:
    """``vpc.select_subnets`` for a SubnetSelection object (jsii's Python binding takes only keywords)."""
    return vpc.select_subnets(**selection._values)


class IsolatedNetwork(Construct):
    """A VPC with isolated subnets only (no NAT, no internet gateway) and the endpoints the pattern needs.

    Creates, unless you pass your own ``vpc``: a VPC with one isolated subnet in each of two Availability
    Zones and VPC flow logs. In either case (unless ``create_vpc_endpoints=False``) it adds an S3 gateway
    endpoint whose policy admits only reads of the model weights, and a ``sagemaker.runtime`` interface
    endpoint with private DNS that only security groups you allow with :meth:`allow_runtime_from` reach.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model: MistralModel | None = None,
        network_options: NetworkOptions | None = None,
        log_options: LogOptions | None = None,
        **flat_props: Any,
    ) -> None:
        """
        :param model: the weights the S3 gateway endpoint must admit. Default: Mistral 7B Instruct.
        :param network_options: the VPC, its subnets and endpoints (:class:`NetworkOptions`). Default: a new VPC.
        :param log_options: the flow log group's retention, key and removal (:class:`LogOptions`).
        :param flat_props: the fields of those parts as keywords, as in earlier releases (deprecated).
        """
        super().__init__(scope, id)
        flat = split_flat_props("IsolatedNetwork", flat_props, (NetworkOptions, LogOptions))
        options = part_of(NetworkOptions, network_options, flat)
        log_options = part_of(LogOptions, log_options, flat)
        vpc, vpc_subnets = options.vpc, options.vpc_subnets
        create_vpc_endpoints, runtime_endpoint = options.create_vpc_endpoints, options.runtime_endpoint
        require_bool("create_vpc_endpoints", create_vpc_endpoints)
        if vpc is not None and options.flow_log_traffic_type != "ALL":
            raise ConfigurationError(
                "flow_log_traffic_type sets the flow log of the VPC this construct creates; your vpc's flow logs "
                "are yours to set: drop flow_log_traffic_type",
                prop="flow_log_traffic_type",
            )
        if vpc is None:
            if vpc_subnets is not None:
                raise ConfigurationError(
                    "vpc_subnets was given without vpc: pass the vpc the subnets belong to"
                )
            vpc = self._new_vpc(log_options, _flow_log_traffic(options.flow_log_traffic_type))
        #: The VPC everything runs in.
        self.vpc: ec2.IVpc = vpc
        #: The subnets the model and the proxy use.
        self.subnets: ec2.SubnetSelection = vpc_subnets or ISOLATED_SUBNETS
        selected = select_subnets(vpc, self.subnets)
        # SageMaker spreads instances across the subnets' AZs; one AZ is a single point of failure.
        azs = selected.availability_zones
        if len(selected.subnet_ids) < 2 or (azs and len(set(azs)) < 2):
            raise ConfigurationError(
                f"vpc_subnets selects {len(selected.subnet_ids)} subnet(s) in AZs {sorted(set(azs))}: "
                "select at least two subnets in different Availability Zones"
            )
        if create_vpc_endpoints and runtime_endpoint is not None:
            raise ConfigurationError(
                "runtime_endpoint was given while create_vpc_endpoints is true: a second sagemaker.runtime "
                "endpoint with private DNS in the same VPC is refused by AWS; set create_vpc_endpoints=False"
            )
        #: The S3 gateway endpoint (None when ``create_vpc_endpoints`` is false).
        self.s3_endpoint: ec2.GatewayVpcEndpoint | None = None
        #: The sagemaker.runtime interface endpoint: created, yours, or None.
        self.runtime_endpoint: ec2.IConnectable | None = runtime_endpoint
        if create_vpc_endpoints:
            # Created in this construct's scope, not the VPC's: a VPC imported from another stack must
            # not gain resources in that stack.
            self.s3_endpoint = ec2.GatewayVpcEndpoint(
                self,
                "S3Endpoint",
                vpc=vpc,
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[self.subnets],
            )
            for statement in MistralModel.of(model).read_statements(principal=iam.AnyPrincipal()):
                self.s3_endpoint.add_to_policy(statement)
            self.runtime_endpoint = ec2.InterfaceVpcEndpoint(
                self,
                "SageMakerRuntimeEndpoint",
                vpc=vpc,
                service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
                subnets=self.subnets,
                private_dns_enabled=True,
                open=False,
            )

    def allow_runtime_from(self, peer: ec2.IConnectable) -> None:
        """Let ``peer`` reach the sagemaker.runtime endpoint on 443."""
        if self.runtime_endpoint is None:
            raise ConfigurationError(
                "create_vpc_endpoints=False leaves no sagemaker.runtime endpoint to reach: pass runtime_endpoint "
                "(your interface endpoint, e.g. ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes) "
                "or run the proxy outside the VPC (proxy_in_vpc=False)"
            )
        self.runtime_endpoint.connections.allow_from(peer, ec2.Port.tcp(443), "HTTPS to SageMaker runtime")

    def _new_vpc(self, log_options: LogOptions, traffic_type: ec2.FlowLogTrafficType) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            # Closing the default security group needs a custom-resource Lambda whose own log group
            # CloudFormation cannot delete; nothing here ever uses the default group.
            restrict_default_security_group=False,
        )
        flow_logs = new_log_group(
            self,
            "FlowLogs",
            retention=log_options.log_retention,
            encryption_key=log_options.log_encryption_key,
            removal_policy=log_options.removal_policy,
            holds="The VPC's flow logs (addresses, ports and byte counts of the model's and proxy's ENIs; "
            "no payloads)",
        )
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"),
            description="VPC flow logs: write to one log group",
        )
        # Customer-managed, not inline (HIPAA and NIST packs); CDK's flow log would add an inline policy
        # to a mutable role, so it gets an immutable view of this one.
        flow_log_policy = iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[flow_logs.log_group_arn],
                )
            ],
            roles=[flow_log_role],
        )
        flow_log = vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                flow_logs, flow_log_role.without_policy_updates()
            ),
            traffic_type=traffic_type,
        )
        # Deliveries start at once: the role must already hold its policy.
        flow_log.node.add_dependency(flow_log_policy)
        acknowledge_in_packs(
            vpc,
            "VPCDefaultSecurityGroupClosed",
            "Nothing in this VPC uses its default security group: the model and the proxy have their own. "
            "Stripping its rules needs a custom-resource Lambda whose log group would outlive cdk destroy.",
        )
        return vpc


def _flow_log_traffic(value: str) -> ec2.FlowLogTrafficType:
    """The flow log's TrafficType (AWS::EC2::FlowLog: ACCEPT, ALL or REJECT)."""
    allowed = {"ALL": ec2.FlowLogTrafficType.ALL, "ACCEPT": ec2.FlowLogTrafficType.ACCEPT}
    allowed["REJECT"] = ec2.FlowLogTrafficType.REJECT
    if value not in allowed:
        raise ConfigurationError(
            f"flow_log_traffic_type must be one of {', '.join(allowed)}, got {value!r}",
            prop="flow_log_traffic_type",
        )
    return allowed[value]
