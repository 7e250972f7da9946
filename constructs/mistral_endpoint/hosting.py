"""Model hosting: the TGI 1.1 container, its execution role, and the SageMaker real-time endpoint.

What differs between hosting the model on the variant's instances and as an inference component that scales to
zero is the business of :mod:`.hosting_modes`; this module builds what both share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Arn, ArnFormat, Duration, Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IDependable

from ._compliance import acknowledge_in_packs
from ._container import GPUS_BY_INSTANCE_TYPE, check_token_limits, resolve_fleet
from ._execution_policy import acknowledge_execution_policy, eni_arn, execution_statements
from ._iam import ManagedPolicyRole
from ._logs import new_log_group
from ._validation import ConfigurationError, is_unresolved, require_bool
from .defaults import DEFAULTS
from .endpoint_metrics import (
    INSTANCE_METRICS_NAMESPACE,
    INVOKE_ENDPOINT_ACTIONS,
    SAGEMAKER_NAMESPACE,
    EndpointMetrics,
    IMistralModelEndpoint,
    ImportedModelEndpoint,
    ModelEndpointBase,
)
from .hosting_modes import (
    COMPONENT_MEMORY_MB_PER_GPU,
    INFERENCE_COMPONENT_LOG_GROUP_PREFIX,
    Fleet,
    HostingMode,
    ServingParts,
)
from .model import MistralModel
from .network import ISOLATED_SUBNETS, select_subnets
from .props import LogOptions, ScalingOptions, ServingOptions, UpdateOptions, part_of, split_flat_props
from .scaling import EndpointScaling, target_concurrency
from .serving_image import ServingImage

if TYPE_CHECKING:  # types only: importing the module costs synth time
    pass

# Re-exported: code written against earlier releases imports these from here.
__all__ = [
    "COMPONENT_MEMORY_MB_PER_GPU",
    "GPUS_BY_INSTANCE_TYPE",
    "INFERENCE_COMPONENT_LOG_GROUP_PREFIX",
    "INSTANCE_METRICS_NAMESPACE",
    "INVOKE_ENDPOINT_ACTIONS",
    "SAGEMAKER_NAMESPACE",
    "VARIANT_NAME",
    "EndpointMetrics",
    "IMistralModelEndpoint",
    "MistralModelEndpoint",
    "component_memory_mb",
    "eni_arn",
]

VARIANT_NAME = "AllTraffic"
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def component_memory_mb(instance_type: str) -> int:
    """Host memory (MiB) an inference component reserves on ``instance_type``: see COMPONENT_MEMORY_MB_PER_GPU."""
    return COMPONENT_MEMORY_MB_PER_GPU * GPUS_BY_INSTANCE_TYPE[instance_type]


@jsii.implements(ec2.IConnectable)
class MistralModelEndpoint(ModelEndpointBase):
    """Mistral 7B on the Hugging Face TGI 1.1 container, on a network-isolated SageMaker real-time endpoint.

    Creates the model (network isolation on, in your subnets), its endpoint configuration and endpoint,
    the endpoint's log group (so ``cdk destroy`` removes it), a security group, and an execution role whose
    policy allows exactly: pulling the TGI image, reading the weights, writing the endpoint's logs and
    metrics, and managing the ENIs SageMaker places in your subnets.

    Implements ``aws_sagemaker.IEndpoint`` and :class:`IMistralModelEndpoint`; use
    :meth:`from_endpoint_attributes` for an endpoint deployed elsewhere.
    """

    @staticmethod
    def from_endpoint_arn(
        scope: Construct,
        id: str,
        endpoint_arn: str,
        *,
        model: MistralModel | None = None,
        max_input_length: int | None = None,
        max_total_tokens: int = DEFAULTS.max_total_tokens,
        variant_name: str = VARIANT_NAME,
        inference_component_name: str | None = None,
    ) -> ImportedModelEndpoint:
        """An endpoint deployed elsewhere, by ARN: its account and region are the ARN's (grants name that ARN,
        metrics are read in that account and region), as ``aws_sagemaker_alpha.Endpoint.fromEndpointArn`` does.
        The other props are :meth:`from_endpoint_attributes`'."""
        return MistralModelEndpoint.from_endpoint_attributes(
            scope,
            id,
            endpoint_arn=endpoint_arn,
            model=model,
            max_input_length=max_input_length,
            max_total_tokens=max_total_tokens,
            variant_name=variant_name,
            inference_component_name=inference_component_name,
        )

    @staticmethod
    def from_endpoint_attributes(
        scope: Construct,
        id: str,
        *,
        endpoint_name: str | None = None,
        endpoint_arn: str | None = None,
        model: MistralModel | None = None,
        max_input_length: int | None = None,
        max_total_tokens: int = DEFAULTS.max_total_tokens,
        variant_name: str = VARIANT_NAME,
        inference_component_name: str | None = None,
    ) -> ImportedModelEndpoint:
        """An endpoint deployed elsewhere, for a proxy or monitoring of its own.

        :param endpoint_name: the SageMaker endpoint's name, in the stack's account and region.
        :param endpoint_arn: instead of ``endpoint_name``: its ARN, in any account and region (taken from it).
        :param model: what it serves (decides whether the proxy offers chat). Default: Mistral 7B Instruct.
        :param max_input_length: the endpoint's MAX_INPUT_LENGTH. Default: ``max_total_tokens`` - 1 (8191).
        :param max_total_tokens: the endpoint's MAX_TOTAL_TOKENS. Default: 8192.
        :param variant_name: the production variant its metrics are reported for. Default: AllTraffic.
        :param inference_component_name: the inference component serving the model, for an endpoint that hosts
            it as one (the proxy then names it in every call). Default: none.
        """
        if (endpoint_name is None) == (endpoint_arn is None):
            raise ConfigurationError(
                "from_endpoint_attributes takes endpoint_name or endpoint_arn: give one of them"
            )
        if endpoint_arn is not None:
            endpoint_name = Arn.split(endpoint_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        assert endpoint_name is not None
        if not is_unresolved(endpoint_name) and not _ENDPOINT_NAME.match(endpoint_name):
            raise ConfigurationError(_endpoint_name_error(endpoint_name))
        max_input, max_total, _ = check_token_limits(max_input_length, max_total_tokens, None)
        return ImportedModelEndpoint(
            scope,
            id,
            environment_from_arn=endpoint_arn,
            endpoint_name=endpoint_name,
            arn=endpoint_arn,
            model=model,
            max_input_length=max_input,
            max_total_tokens=max_total,
            hosting_mode=HostingMode.of(endpoint_name, variant_name, inference_component_name),
        )

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        serving_options: ServingOptions | None = None,
        scaling_options: ScalingOptions | None = None,
        update_options: UpdateOptions | None = None,
        log_options: LogOptions | None = None,
        **flat_props: Any,
    ) -> None:
        """
        :param vpc: the VPC whose subnets the model's ENIs go in.
        :param vpc_subnets: which subnets (two or more AZs). Default: the VPC's isolated subnets.
        :param serving_options: the model and its container (:class:`ServingOptions`).
        :param scaling_options: autoscaling (:class:`ScalingOptions`).
        :param update_options: how updates deploy and roll back (:class:`UpdateOptions`).
        :param log_options: the endpoint's log groups (:class:`LogOptions`).
        :param flat_props: the fields of those parts as keywords, as in earlier releases (deprecated; ``role``
            is ``execution_role``).
        """
        super().__init__(scope, id)
        flat = split_flat_props(
            "MistralModelEndpoint",
            flat_props,
            (ServingOptions, ScalingOptions, UpdateOptions, LogOptions),
            aliases={"role": "execution_role"},
        )
        serving = part_of(ServingOptions, serving_options, flat)
        scaling = part_of(ScalingOptions, scaling_options, flat)
        updates = part_of(UpdateOptions, update_options, flat)
        log_options = part_of(LogOptions, log_options, flat)
        require_bool("scale_to_zero", scaling.scale_to_zero)
        mode = HostingMode.create(
            scale_to_zero=scaling.scale_to_zero,
            endpoint_name=_endpoint_name(self, serving.endpoint_name),
            variant_name=VARIANT_NAME,
        )
        image = serving.image or ServingImage.tgi_1_1()
        image.check_region(self)
        mode.check_region(self)
        fleet, environment = resolve_fleet(mode, serving, scaling, updates)
        self._init_attributes(
            endpoint_name=mode.endpoint_name,
            model=serving.model,
            max_input_length=int(environment["MAX_INPUT_LENGTH"]),
            max_total_tokens=int(environment["MAX_TOTAL_TOKENS"]),
            hosting_mode=mode,
        )
        #: Fewest and most instances (copies in scale-to-zero mode) autoscaling keeps.
        self.min_capacity = fleet.min_capacity
        self.max_capacity = fleet.max_capacity
        subnets = select_subnets(vpc, vpc_subnets or ISOLATED_SUBNETS)
        self._create_security_group(vpc)
        groups = self._create_log_groups(mode, log_options)
        parts = self._create_model(
            vpc,
            subnets.subnet_ids,
            serving.execution_role,
            environment,
            groups,
            updates.rollback_alarms,
            image,
        )
        self._create_endpoint(mode, fleet, parts, groups)
        #: Autoscaling (None when min_capacity equals max_capacity outside scale-to-zero mode).
        self.scaling: EndpointScaling | None = self._create_scaling(
            mode,
            fleet,
            scaling,
            target_concurrency(scaling.target_concurrent_requests, serving.max_concurrent_requests),
        )

    @property
    def connections(self) -> ec2.Connections:
        """Network access of the model's ENIs (no inbound rules; HTTPS out to the S3 gateway endpoint)."""
        return self._connections

    @property
    def in_service(self) -> IDependable:
        """The endpoint resource: CloudFormation finishes it once the endpoint is InService."""
        return self.cfn_endpoint

    def start_after(self, *dependencies: IDependable) -> None:
        """Create the endpoint only after ``dependencies`` (the S3 gateway route its weights download through,
        the alarms its updates roll back on), and delete it before them."""
        self.cfn_endpoint.node.add_dependency(*dependencies)

    def _create_log_groups(self, mode: HostingMode, log_options: LogOptions) -> dict[str, logs.LogGroup]:
        """The groups SageMaker writes to in this mode, created first so that the stack owns them."""
        groups = {
            spec.id: new_log_group(
                self,
                spec.id,
                log_group_name=spec.name,
                holds=spec.holds,
                retention=log_options.log_retention,
                encryption_key=log_options.log_encryption_key,
                removal_policy=log_options.removal_policy,
            )
            for spec in mode.log_groups()
        }
        #: The endpoint's log group (``/aws/sagemaker/Endpoints/<endpoint>``).
        self.log_group: logs.LogGroup = groups["Logs"]
        #: Scale-to-zero mode: the inference component's log group, where TGI's own lines go
        #: (``/aws/sagemaker/InferenceComponents/<component>``); None otherwise.
        self.component_log_group: logs.LogGroup | None = groups.get("ComponentLogs")
        return groups

    def _create_security_group(self, vpc: ec2.IVpc) -> None:
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Mistral model ENIs: no inbound; HTTPS out, which isolated subnets limit to VPC endpoints",
            allow_all_outbound=False,
        )
        # The weights download through these ENIs to the S3 gateway endpoint, whose prefix list has no
        # CloudFormation attribute; isolated subnets have no other route out.
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to the S3 gateway")
        self._connections = ec2.Connections(security_groups=[self.security_group])

    def _create_model(
        self,
        vpc: ec2.IVpc,
        subnet_ids: list[str],
        role: iam.IRole | None,
        environment: dict[str, str],
        log_groups: Mapping[str, logs.LogGroup],
        rollback_alarms: Sequence[cloudwatch.IAlarm],
        image: ServingImage,
    ) -> ServingParts:
        """The execution role and its policy, then the model (network-isolated, in ``subnet_ids``)."""
        #: The execution role SageMaker assumes for the model.
        self.role: iam.IRole = role or iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Mistral 7B TGI model: pull the image, read the weights, write logs",
        )
        # A customer-managed policy, not an inline one: the HIPAA and NIST packs require it.
        self.policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            description="Mistral 7B TGI model: exactly what SageMaker needs to run this endpoint",
            roles=[self.role],
        )
        # The image's pull rights first, granted through a view of the role that sends them to this policy.
        #: The URI of the serving container (``ServingOptions.image``).
        self.image_uri = image.bind(
            self, ManagedPolicyRole(self, "ExecutionRoleGrants", role=self.role, policy=self.policy)
        ).image_uri
        self.policy.add_statements(
            *execution_statements(
                self,
                vpc=vpc,
                subnet_ids=subnet_ids,
                security_group=self.security_group,
                model=self.model,
                log_group_arns=[group.log_group_arn for group in log_groups.values()],
                rollback_alarms=rollback_alarms,
            )
        )
        acknowledge_execution_policy(self.policy, subnet_ids=subnet_ids, model=self.model)
        self.cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            enable_network_isolation=True,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image_uri,
                mode="SingleModel",
                model_data_source=sagemaker.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                        s3_uri=self.model.s3_uri, s3_data_type="S3Prefix", compression_type="None"
                    )
                ),
                environment=environment,
            ),
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                subnets=subnet_ids, security_group_ids=[self.security_group.security_group_id]
            ),
        )
        # CreateModel checks the role's permissions at once: the policy must exist first.
        self.cfn_model.node.add_dependency(self.policy)
        network = sagemaker.CfnEndpointConfig.VpcConfigProperty(
            subnets=subnet_ids, security_group_ids=[self.security_group.security_group_id]
        )
        return ServingParts(model=self.cfn_model, role=self.role, policy=self.policy, network=network)

    def _create_endpoint(
        self, mode: HostingMode, fleet: Fleet, parts: ServingParts, log_groups: Mapping[str, logs.LogGroup]
    ) -> None:
        self.cfn_endpoint_config = mode.endpoint_config(self, fleet, parts)
        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
        )
        #: What serves the traffic: the inference component (scale-to-zero mode), or the endpoint.
        self.serving: IDependable = mode.serve(self, fleet, parts, self.cfn_endpoint, log_groups)
        #: The inference component (scale-to-zero mode), or None.
        self.cfn_inference_component: sagemaker.CfnInferenceComponent | None = (
            self.serving if isinstance(self.serving, sagemaker.CfnInferenceComponent) else None
        )
        acknowledge_in_packs(
            self.cfn_endpoint_config,
            "SageMakerEndpointConfigurationKMSKeyConfigured",
            f"{fleet.instance_type} stores the model on local NVMe instance storage, which the platform encrypts; "
            "CreateEndpointConfig rejects KmsKeyId for instance types without an EBS volume",
        )
        # Created before and deleted after the endpoint, so SageMaker never creates its own copy (the role
        # may still call CreateLogGroup on this one name, as SageMaker's documented execution role does).
        self.cfn_endpoint.node.add_dependency(self.log_group)

    def _create_scaling(
        self,
        mode: HostingMode,
        fleet: Fleet,
        scaling: ScalingOptions,
        target: int,
    ) -> EndpointScaling | None:
        schedule = scaling.schedule
        if not mode.autoscales(fleet.min_capacity, fleet.max_capacity):
            if schedule is not None:
                raise ConfigurationError(
                    "schedule needs autoscaling, which is off when min_capacity equals max_capacity "
                    f"({fleet.max_capacity}): raise max_capacity, or use scale_to_zero"
                )
            return None
        scale_out, scale_in = scaling.scale_out_cooldown, scaling.scale_in_cooldown
        return EndpointScaling(
            self,
            "Scaling",
            target=mode.scaling_target(),
            min_capacity=fleet.min_capacity,
            max_capacity=fleet.max_capacity,
            target_concurrent_requests=target,
            scale_out_cooldown=scale_out or Duration.seconds(DEFAULTS.scale_out_cooldown_seconds),
            scale_in_cooldown=scale_in or Duration.seconds(DEFAULTS.scale_in_cooldown_seconds),
            # Scale-to-zero mode: the wake-up signal (AWS's recipe reads its maximum over a minute).
            no_capacity_metric=self.wake_refusals(statistic="Maximum"),
            schedule=schedule,
            depends_on=self.serving,
        )


def _endpoint_name(scope: Construct, name: str | None) -> str:
    if name is None:
        return Names.unique_resource_name(scope, max_length=63, separator="-").lower()
    if not is_unresolved(name) and not _ENDPOINT_NAME.match(name):
        raise ConfigurationError(_endpoint_name_error(name))
    return name


def _endpoint_name_error(name: str) -> str:
    return (
        f"endpoint_name {name!r} is not a valid SageMaker endpoint name: 1-63 letters, digits and "
        "hyphens, starting and ending with a letter or digit"
    )
