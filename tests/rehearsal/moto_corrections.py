"""Corrections for the moto emulator's known gaps, so the deploy rehearsal (the ``rehearse`` package) can run.

The rehearsal deploys the real, unchanged template with the real CDK CLI. Where moto (pinned in
requirements-dev.txt) behaves unlike CloudFormation, the difference is corrected here and nowhere else: each
correction is a patch applied inside the moto server process the rehearsal starts
(``python tests/rehearsal/moto_corrections.py --port N --parent-pid PID``). None touches the project's code or
the template it ships; each makes moto do what CloudFormation and the service do.

Each correction names the moto behaviour it fixes. tests/rehearsal/test_moto_corrections.py proves, for each,
that the gap still exists in the installed moto (when moto fixes one, its test fails and says the correction
can go) and that the correction works.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, NamedTuple
from unittest import mock

# The moto release these corrections were written against (requirements-dev.txt pins it).
MOTO_VERSION = "5.2.5"

# What SageMaker real-time endpoints offer in the g5 family (the construct's default is ml.g5.2xlarge).
G5_INSTANCE_TYPES = frozenset(
    f"ml.g5.{size}"
    for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")
)

SSM_PARAMETER_TYPE_PREFIX = "AWS::SSM::Parameter::"

# What RetainAllVariantProperties keeps through an endpoint update, by the VariantPropertyType that excludes it.
RETAINED_VARIANT_KEYS = {
    "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount"),
    "DesiredWeight": ("CurrentWeight", "DesiredWeight"),
}


@contextlib.contextmanager
def accept_g5_instance_types() -> Iterator[None]:
    """moto rejects every ``ml.g5.*`` instance type in CreateEndpointConfig (its hard-coded list predates g5).

    SageMaker accepts them; the project ships ml.g5.2xlarge. Patched inside the emulator so the rehearsal
    deploys the template unchanged.
    """
    from moto.sagemaker.models import FakeEndpointConfig

    original = FakeEndpointConfig.validate_instance_type

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if instance_type not in G5_INSTANCE_TYPES:
            original(self, instance_type)

    with mock.patch.object(FakeEndpointConfig, "validate_instance_type", validate_instance_type):
        yield


@contextlib.contextmanager
def honour_sagemaker_endpoint_name() -> Iterator[None]:
    """moto ignores ``EndpointName`` on ``AWS::SageMaker::Endpoint`` and names the endpoint
    ``{stack}-{logicalId}-{suffix}`` (its ``cloudformation_name_type`` is empty).

    CloudFormation uses the given name; the proxy's ENDPOINT_NAME and the endpoint's log group depend on it.
    """
    from moto.sagemaker.models import FakeEndpoint

    with mock.patch.object(FakeEndpoint, "cloudformation_name_type", staticmethod(lambda: "EndpointName")):
        yield


def _get_att_error() -> Exception:
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    return UnformattedGetAttTemplateException()


class _TemplateResource:
    """What moto's CloudFormation asks of a resource model, for the models these corrections add.

    Duck-typed like moto's CloudFormationModel rather than a subclass: moto finds models through
    CloudFormationModel.__subclasses__() and keeps every model class alive, so a subclass could never be
    removed again (the gap tests must see moto as it is). A model names its type, the property that names it
    (none: CloudFormation generates the name) and its ``Fn::GetAtt`` attributes (each the instance attribute that
    holds it), and creates and updates itself from the template's ``Properties``.
    """

    CFN_TYPE: ClassVar[str]
    NAME_PROPERTY: ClassVar[str] = ""
    CFN_ATTRIBUTES: ClassVar[Mapping[str, str]] = {}

    def is_created(self) -> bool:
        return True

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.CFN_ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.CFN_ATTRIBUTES:
            return getattr(self, self.CFN_ATTRIBUTES[attribute_name])
        raise _get_att_error()

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        return cls.create_from_properties(resource_name, properties, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        return cls.update_from_properties(
            original_resource, new_resource_name, properties, account_id, region_name
        )

    @classmethod
    def create_from_properties(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        raise NotImplementedError

    @classmethod
    def update_from_properties(
        cls,
        original_resource: Any,
        new_resource_name: str,
        properties: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        raise NotImplementedError


def _clear_model_caches() -> None:
    from moto.cloudformation import parsing

    # Another correction's model list may be in place already (a plain function, no cache to clear).
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        clear = getattr(cached, "cache_clear", None)
        if clear is not None:
            clear()


@contextlib.contextmanager
def _cloudformation_models(*models: type[Any]) -> Iterator[None]:
    """moto's CloudFormation also finds ``models`` (duck-typed like its CloudFormationModel, see
    ``_TemplateResource``), until the context ends."""
    from moto.cloudformation import parsing

    original = parsing.get_model_list

    def model_list() -> list[type[Any]]:
        return [*original(), *models]

    _clear_model_caches()
    try:
        with mock.patch.object(parsing, "get_model_list", model_list):
            yield
    finally:
        _clear_model_caches()


def _function_url_model() -> type[Any]:
    from moto.awslambda.models import lambda_backends

    class FunctionUrlResource(_TemplateResource):
        """``AWS::Lambda::Url`` through moto's own Lambda backend (the same call as CreateFunctionUrlConfig)."""

        CFN_TYPE = "AWS::Lambda::Url"
        CFN_ATTRIBUTES: ClassVar[Mapping[str, str]] = {"FunctionUrl": "url", "FunctionArn": "function_arn"}

        def __init__(self, function_arn: str, url: str) -> None:
            self.function_arn = function_arn
            self.url = url

        @property
        def physical_resource_id(self) -> str:
            return self.function_arn

        @classmethod
        def create_from_properties(
            cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
        ) -> FunctionUrlResource:
            settings = dict(properties)
            function_arn = settings.pop("TargetFunctionArn")
            config = lambda_backends[account_id][region_name].create_function_url_config(
                function_arn, settings
            )
            return cls(function_arn, config.url)

        @classmethod
        def update_from_properties(
            cls,
            original_resource: FunctionUrlResource,
            new_resource_name: str,
            properties: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> FunctionUrlResource:
            settings = dict(properties)
            function_arn = settings.pop("TargetFunctionArn")
            if function_arn != original_resource.function_arn:
                # Another function: CloudFormation replaces the URL.
                original_resource.delete(account_id, region_name)
                return cls.create_from_properties(new_resource_name, properties, account_id, region_name)
            # Same function: updated in place, the URL stays (UpdateFunctionUrlConfig).
            lambda_backends[account_id][region_name].update_function_url_config(function_arn, settings)
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.awslambda.exceptions import UnknownFunctionException

            # When the function went first, its URL went with it (as in Lambda).
            with contextlib.suppress(UnknownFunctionException):
                lambda_backends[account_id][region_name].delete_function_url_config(self.function_arn)

    return FunctionUrlResource


@contextlib.contextmanager
def create_function_urls_from_templates() -> Iterator[None]:
    """moto has no CloudFormation model for ``AWS::Lambda::Url``: it logs "No Moto CloudFormation support",
    creates nothing, and ``Fn::GetAtt [Url, FunctionUrl]`` in an output cannot resolve.

    Registers a model that creates the URL config through moto's Lambda backend, resolves ``FunctionUrl`` and
    ``FunctionArn``, and deletes the config with the stack.
    """
    with _cloudformation_models(_function_url_model()):
        yield


def _metric_alarm_model() -> type[Any]:
    from moto.cloudwatch.models import MetricDataQuery, cloudwatch_backends

    class MetricAlarmResource(_TemplateResource):
        """``AWS::CloudWatch::Alarm`` through moto's own CloudWatch backend (the PutMetricAlarm call)."""

        CFN_TYPE = "AWS::CloudWatch::Alarm"
        NAME_PROPERTY = "AlarmName"
        CFN_ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Arn": "arn"}

        def __init__(self, name: str, arn: str) -> None:
            self.name = name
            self.arn = arn

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @classmethod
        def create_from_properties(
            cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
        ) -> MetricAlarmResource:
            # Metric math alarms keep their queries' ids, expressions and periods (moto does not evaluate them).
            queries = [
                MetricDataQuery(
                    query_id=q["Id"],
                    label=q.get("Label", ""),
                    period=q.get("Period") or q.get("MetricStat", {}).get("Period"),
                    return_data=str(q.get("ReturnData", True)).lower(),
                    expression=q.get("Expression"),
                )
                for q in p.get("Metrics", [])
            ]
            alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=p.get("AlarmName") or resource_name,
                namespace=p.get("Namespace", ""),
                metric_name=p.get("MetricName", ""),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=int(p["EvaluationPeriods"]),
                period=int(p.get("Period", 60)),
                threshold=float(p.get("Threshold", 0)),
                statistic=p.get("Statistic", ""),
                description=p.get("AlarmDescription", ""),
                dimensions=p.get("Dimensions", []),
                alarm_actions=p.get("AlarmActions", []),
                metric_data_queries=queries or None,
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
                extended_statistic=p.get("ExtendedStatistic"),
                ok_actions=p.get("OKActions", []),
                treat_missing_data=p.get("TreatMissingData"),
            )
            return cls(alarm.name, alarm.alarm_arn)

        @classmethod
        def update_from_properties(
            cls,
            original_resource: MetricAlarmResource,
            new_resource_name: str,
            properties: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> MetricAlarmResource:
            # An alarm without AlarmName keeps the name CloudFormation generated for it (moto generates a new one
            # on every update); a new AlarmName replaces the alarm. PutMetricAlarm on the same name replaces the
            # alarm's settings, as CloudFormation's update does.
            name = properties.get("AlarmName") or original_resource.name
            if name != original_resource.name:
                original_resource.delete(account_id, region_name)
            return cls.create_from_properties(name, properties, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            cloudwatch_backends[account_id][region_name].delete_alarms([self.name])

    return MetricAlarmResource


@contextlib.contextmanager
def create_metric_alarms_from_templates() -> Iterator[None]:
    """moto has no CloudFormation model for ``AWS::CloudWatch::Alarm``: it creates nothing, and
    ``Fn::GetAtt [Alarm, Arn]`` (a dashboard's alarm status widget) fails the deploy ("references undefined
    resource").

    Registers a model that creates the alarm through moto's CloudWatch backend, resolves ``Arn`` and deletes
    the alarm with the stack.
    """
    with _cloudformation_models(_metric_alarm_model()):
        yield


def _topic_policy_model() -> type[Any]:
    from moto.sns.models import sns_backends

    class TopicPolicyResource(_TemplateResource):
        """``AWS::SNS::TopicPolicy`` through moto's own SNS backend (SetTopicAttributes ``Policy``)."""

        CFN_TYPE = "AWS::SNS::TopicPolicy"

        def __init__(self, physical_id: str, topic_arns: list[str]) -> None:
            self.physical_id = physical_id
            self.topic_arns = topic_arns

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @classmethod
        def create_from_properties(
            cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
        ) -> TopicPolicyResource:
            topics = list(properties["Topics"])
            backend = sns_backends[account_id][region_name]
            for arn in topics:
                backend.set_topic_attribute(arn, "policy", json.dumps(properties["PolicyDocument"]))
            return cls(f"{resource_name}-{abs(hash(tuple(topics))) % 10**8}", topics)

        @classmethod
        def update_from_properties(
            cls,
            original_resource: TopicPolicyResource,
            new_resource_name: str,
            properties: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> TopicPolicyResource:
            return cls.create_from_properties(new_resource_name, properties, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.sns.exceptions import TopicNotFound

            # The topic keeps SNS's default policy once the stack's is gone (when the topic itself remains).
            backend = sns_backends[account_id][region_name]
            for arn in self.topic_arns:
                with contextlib.suppress(TopicNotFound):
                    topic = backend.get_topic(arn)
                    topic.policy = json.dumps(
                        topic._create_default_topic_policy(region_name, account_id, topic.name)
                    )

    return TopicPolicyResource


@contextlib.contextmanager
def apply_topic_policies_from_templates() -> Iterator[None]:
    """moto has no CloudFormation model for ``AWS::SNS::TopicPolicy``: the stack's topic keeps SNS's default
    policy (no TLS-only deny, no CloudWatch publish statement) and the policy is not among the stack's
    resources.

    Registers a model that sets the topics' ``Policy`` attribute through moto's SNS backend and restores the
    default policy on delete.
    """
    with _cloudformation_models(_topic_policy_model()):
        yield


@contextlib.contextmanager
def rebuild_outputs_after_change_set() -> Iterator[None]:
    """moto's ExecuteChangeSet applies the new template's resources but keeps the stack's parsed template and
    Outputs from before the change set: none after a create, the previous template's after an update. The CDK
    deploys through change sets only, so DescribeStacks shows no Outputs and ``--outputs-file`` is empty.

    After execution, re-parse the executed template and rebuild the outputs from it, as CloudFormation does.
    """
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        original(self, change_set_name, stack_name)
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    with mock.patch.object(CloudFormationBackend, "execute_change_set", execute_change_set):
        yield


@contextlib.contextmanager
def answer_missing_change_sets_like_cloudformation() -> Iterator[None]:
    """moto fails on change sets that do not exist: DeleteChangeSet raises an UnboundLocalError (HTTP 500,
    an HTML page the CDK's SDK cannot parse, retried for 40 s then fatal) and DescribeChangeSet answers
    "Stack with id ... does not exist".

    CloudFormation deletes a missing change set as a no-op (the CDK relies on it before every update deploy)
    and answers DescribeChangeSet with ``ChangeSetNotFound``.
    """
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"
        # moto serializes an error with the service model named by the exception's module (404 here).
        __module__ = "moto.cloudformation.exceptions"

    def find(backend: Any, name_or_arn: str) -> str | None:
        if name_or_arn in backend.change_sets:
            return name_or_arn
        for arn, change_set in backend.change_sets.items():
            if change_set.change_set_name == name_or_arn:
                return str(arn)
        return None

    def delete_change_set(self: Any, change_set_name: str) -> None:
        arn = find(self, change_set_name)
        if arn is not None:
            del self.change_sets[arn]

    def describe_change_set(self: Any, change_set_name: str) -> Any:
        arn = find(self, change_set_name)
        if arn is None:
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        return self.change_sets[arn]

    with (
        mock.patch.object(CloudFormationBackend, "delete_change_set", delete_change_set),
        mock.patch.object(CloudFormationBackend, "describe_change_set", describe_change_set),
    ):
        yield


@contextlib.contextmanager
def delete_change_sets_with_their_stack() -> Iterator[None]:
    """moto keeps a stack's change sets after DeleteStack (ListChangeSets still lists them), and change sets are
    found by name: when a stack of the same name is created again through a change set of the same name (the CDK
    always uses ``cdk-deploy-change-set``), DescribeChangeSet can answer with the deleted stack's one, whose
    execution then fails (a KeyError on the deleted stack's id: HTTP 500, the deploy fails).

    CloudFormation deletes a stack's change sets with the stack. This does the same.
    """
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.delete_stack

    def delete_stack(self: Any, name_or_stack_id: str) -> None:
        before = set(self.stacks)
        original(self, name_or_stack_id)
        deleted = before - set(self.stacks)
        for arn, change_set in list(self.change_sets.items()):
            if change_set.stack_id in deleted:
                del self.change_sets[arn]

    with mock.patch.object(CloudFormationBackend, "delete_stack", delete_stack):
        yield


@contextlib.contextmanager
def keep_ssm_parameter_names_on_update() -> Iterator[None]:
    """moto answers ``UsePreviousValue`` with the parameter's resolved value; for an SSM-typed parameter (the
    CDK's ``BootstrapVersion``, type ``AWS::SSM::Parameter::Value<String>``) it then resolves that value again
    as a parameter name, finds no parameter "33" and fails the update (an AttributeError: HTTP 500).

    CloudFormation keeps the parameter's name (the path) as its value and resolves it once per deployment.
    """
    from moto.cloudformation.models import Stack

    def stack_parameters(self: Any) -> dict[str, Any]:
        values = dict(self.resource_map.resolved_parameters)
        slots: Mapping[str, Any] = self.resource_map._template.get("Parameters", {})
        for name, slot in slots.items():
            if str(slot.get("Type", "")).startswith(SSM_PARAMETER_TYPE_PREFIX):
                values[name] = self.resource_map.input_parameters.get(name, slot.get("Default"))
        return values

    with mock.patch.object(Stack, "stack_parameters", property(stack_parameters)):
        yield


def _completing_creation(
    model: type[Any], complete: Callable[[Any, dict[str, Any]], None]
) -> contextlib.AbstractContextManager[Any]:
    """Patch ``model.create_from_cloudformation_json``: moto's own creation, then ``complete(resource,
    properties)`` keeps what moto drops of the template's ``Properties``; the resource is returned."""
    original = model.create_from_cloudformation_json

    def create(
        cls: Any,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource = original.__func__(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        complete(resource, cloudformation_json["Properties"])
        return resource

    return mock.patch.object(model, "create_from_cloudformation_json", classmethod(create))


class CorrectionError(RuntimeError):
    """A correction's own delete failed (moto would otherwise swallow it, see ``_loud``)."""


def _loud(delete: Callable[[Any, str, str], None]) -> Callable[[Any, str, str], None]:
    """moto calls ``resource.delete(account_id, region_name)`` and, on TypeError or AttributeError, silently
    falls back to the model's (empty) CloudFormation delete: re-raise those so a broken correction shows."""

    @functools.wraps(delete)
    def wrapper(self: Any, account_id: str, region_name: str) -> None:
        try:
            delete(self, account_id, region_name)
        except (AttributeError, TypeError) as exc:
            raise CorrectionError(f"{delete.__name__} failed for {self!r}: {exc}") from exc

    return wrapper


@contextlib.contextmanager
def delete_network_resources_with_stack() -> Iterator[None]:
    """moto's models for ``AWS::EC2::RouteTable``, ``AWS::EC2::SubnetRouteTableAssociation``,
    ``AWS::EC2::VPCEndpoint`` and ``AWS::EC2::FlowLog`` have no CloudFormation delete: DeleteStack leaves them,
    then fails with DeleteVpc's DependencyViolation ("The vpc ... has dependencies and cannot be deleted"), so
    ``cdk destroy`` fails.

    Gives each a delete through moto's own EC2 backend (the calls DeleteStack makes in CloudFormation). A
    deleted VPC endpoint stays listed with state ``deleted`` for a while, as in EC2.
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.ec2.models.route_tables import RouteTable
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpcs import VPCEndPoint

    def delete_route_table(self: Any, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_route_table(self.id)

    def delete_association(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        backend.subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)

    def delete_endpoint(self: Any, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        # moto keeps VpcEndpointType None when the template leaves CloudFormation's default (Gateway), and
        # removes a gateway endpoint's routes table by table: skip tables the stack has already deleted.
        self.vpc_endpoint_type = self.vpc_endpoint_type or "Gateway"
        self.route_table_ids = [t for t in self.route_table_ids or [] if t in backend.route_tables]
        backend.delete_vpc_endpoints([self.id])

    def delete_flow_log(self: Any, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_flow_logs([self.id])

    with (
        mock.patch.object(RouteTable, "delete", _loud(delete_route_table), create=True),
        mock.patch.object(SubnetRouteTableAssociation, "delete", _loud(delete_association), create=True),
        mock.patch.object(VPCEndPoint, "delete", _loud(delete_endpoint), create=True),
        mock.patch.object(FlowLogs, "delete", _loud(delete_flow_log), create=True),
    ):
        yield


@contextlib.contextmanager
def delete_managed_policies_with_stack() -> Iterator[None]:
    """moto's ``AWS::IAM::ManagedPolicy`` has no CloudFormation delete: DeleteStack leaves the policy attached to
    the stack's roles, DeleteRole then refuses ("Cannot delete entity, must detach all policies first") and
    ``cdk destroy`` fails.

    Detaches the policy from its roles, users and groups and deletes it, as CloudFormation does.
    """
    from moto.iam.models import ManagedPolicy, iam_backends
    from moto.utilities.utils import get_partition

    def delete_policy(self: Any, account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in list(backend.roles.values()):
            if self.arn in role.managed_policies:
                backend.detach_role_policy(self.arn, role.name)
        for user in list(backend.users.values()):
            if self.arn in user.managed_policies:
                backend.detach_user_policy(self.arn, user.name)
        for group in list(backend.groups.values()):
            if self.arn in group.managed_policies:
                backend.detach_group_policy(self.arn, group.name)
        backend.delete_policy(self.arn)

    with mock.patch.object(ManagedPolicy, "delete", _loud(delete_policy), create=True):
        yield


def _references(resource_json: object) -> set[str]:
    """Logical ids a resource's JSON points at through ``Ref`` and ``Fn::GetAtt``."""
    found: set[str] = set()
    if isinstance(resource_json, dict):
        for key, value in resource_json.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                found.add(str(value[0]))
            else:
                found |= _references(value)
    elif isinstance(resource_json, list):
        for item in resource_json:
            found |= _references(item)
    return found


@contextlib.contextmanager
def update_dependents_of_replaced_resources() -> Iterator[None]:
    """moto decides what an update touches by comparing each resource's template JSON only. When a resource
    is replaced (a new physical id: a SageMaker model whose container environment changed gets a new name),
    the resources that ``Ref`` or ``Fn::GetAtt`` it keep the old value: the endpoint config goes on naming the
    deleted model and the endpoint is never updated.

    CloudFormation re-resolves the references and updates those dependents too. After moto's update, this
    updates every resource that references a resource whose physical id changed, transitively.
    """
    from moto.cloudformation.parsing import ResourceMap, parse_and_update_resource

    original = ResourceMap.update

    def physical_ids(resource_map: Any) -> dict[str, object]:
        return {
            name: getattr(resource_map._parsed_resources.get(name), "physical_resource_id", None)
            for name in resource_map._resource_json_map
            if name in resource_map._parsed_resources
        }

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        before = physical_ids(self)
        original(self, template, parameters)
        after = physical_ids(self)
        changed = {name for name, pid in after.items() if name in before and before[name] != pid}
        done: set[str] = set(changed)
        while changed:
            dependents = sorted(
                name
                for name, resource_json in self._resource_json_map.items()
                if name not in done
                and name in self._parsed_resources
                and _references(resource_json) & changed
            )
            changed = set()
            for name in dependents:
                old_id = getattr(self._parsed_resources[name], "physical_resource_id", None)
                resource = parse_and_update_resource(
                    name, self._resource_json_map[name], self, self._account_id, self._region_name
                )
                if resource is not None:
                    self._parsed_resources[name] = resource
                    if getattr(resource, "physical_resource_id", None) != old_id:
                        changed.add(name)
                done.add(name)

    with mock.patch.object(ResourceMap, "update", update):
        yield


def _scaling_models() -> tuple[type[Any], type[Any]]:
    from moto.applicationautoscaling.exceptions import AWSValidationException
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    class ScalableTargetResource(_TemplateResource):
        """``AWS::ApplicationAutoScaling::ScalableTarget`` through moto's Application Auto Scaling backend: the
        calls CloudFormation makes (RegisterScalableTarget, PutScheduledAction, DeregisterScalableTarget)."""

        CFN_TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
        CFN_ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Id": "physical_resource_id"}

        def __init__(self, namespace: str, resource_id: str, dimension: str, actions: list[str]) -> None:
            self.namespace = namespace
            self.resource_id = resource_id
            self.dimension = dimension
            self.scheduled_action_names = actions

        @property
        def physical_resource_id(self) -> str:
            # CloudFormation's id for a scalable target (what Ref returns and ScalingTargetId takes).
            return f"{self.resource_id}|{self.dimension}|{self.namespace}"

        @classmethod
        def create_from_properties(
            cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
        ) -> ScalableTargetResource:
            backend = applicationautoscaling_backends[account_id][region_name]
            namespace, resource_id = properties["ServiceNamespace"], properties["ResourceId"]
            dimension = properties["ScalableDimension"]
            backend.register_scalable_target(
                namespace,
                resource_id,
                dimension,
                min_capacity=int(properties["MinCapacity"]),
                max_capacity=int(properties["MaxCapacity"]),
                role_arn=properties.get("RoleARN", ""),
                # None without SuspendedState, as before (moto annotates str but takes None).
                suspended_state=properties.get("SuspendedState"),  # type: ignore[arg-type]
            )
            actions = properties.get("ScheduledActions") or []
            for action in actions:
                backend.put_scheduled_action(
                    service_namespace=namespace,
                    schedule=action["Schedule"],
                    timezone=action.get("Timezone"),
                    scheduled_action_name=action["ScheduledActionName"],
                    resource_id=resource_id,
                    scalable_dimension=dimension,
                    start_time=action.get("StartTime"),
                    end_time=action.get("EndTime"),
                    scalable_target_action=action.get("ScalableTargetAction"),
                )
            return cls(namespace, resource_id, dimension, [a["ScheduledActionName"] for a in actions])

        @classmethod
        def update_from_properties(
            cls,
            original_resource: ScalableTargetResource,
            new_resource_name: str,
            properties: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> ScalableTargetResource:
            same = (
                properties["ServiceNamespace"],
                properties["ResourceId"],
                properties["ScalableDimension"],
            ) == (
                original_resource.namespace,
                original_resource.resource_id,
                original_resource.dimension,
            )
            if not same:  # another resource or dimension: CloudFormation replaces the target
                original_resource.delete(account_id, region_name)
            else:  # in place: drop the scheduled actions the new template no longer has
                kept = {a["ScheduledActionName"] for a in properties.get("ScheduledActions") or []}
                original_resource._delete_actions(account_id, region_name, keep=kept)
            return cls.create_from_properties(new_resource_name, properties, account_id, region_name)

        def _delete_actions(self, account_id: str, region_name: str, keep: set[str]) -> None:
            backend = applicationautoscaling_backends[account_id][region_name]
            for name in self.scheduled_action_names:
                if name not in keep:
                    backend.delete_scheduled_action(self.namespace, name, self.resource_id, self.dimension)

        def delete(self, account_id: str, region_name: str) -> None:
            self._delete_actions(account_id, region_name, keep=set())
            with contextlib.suppress(AWSValidationException):  # already deregistered
                applicationautoscaling_backends[account_id][region_name].deregister_scalable_target(
                    self.namespace, self.resource_id, self.dimension
                )

    class ScalingPolicyResource(_TemplateResource):
        """``AWS::ApplicationAutoScaling::ScalingPolicy`` through moto's backend (PutScalingPolicy,
        DeleteScalingPolicy); its id (Ref) is the policy's ARN, which an alarm action names."""

        CFN_TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"
        CFN_ATTRIBUTES: ClassVar[Mapping[str, str]] = {"Arn": "arn"}

        def __init__(self, name: str, namespace: str, resource_id: str, dimension: str, arn: str) -> None:
            self.name = name
            self.namespace = namespace
            self.resource_id = resource_id
            self.dimension = dimension
            self.arn = arn

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @staticmethod
        def _target(properties: Mapping[str, Any]) -> tuple[str, str, str]:
            if properties.get("ScalingTargetId"):
                resource_id, dimension, namespace = str(properties["ScalingTargetId"]).split("|")
                return namespace, resource_id, dimension
            return properties["ServiceNamespace"], properties["ResourceId"], properties["ScalableDimension"]

        @classmethod
        def create_from_properties(
            cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
        ) -> ScalingPolicyResource:
            namespace, resource_id, dimension = cls._target(properties)
            name = properties.get("PolicyName") or resource_name
            policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
                policy_name=name,
                service_namespace=namespace,
                resource_id=resource_id,
                scalable_dimension=dimension,
                policy_body=properties.get("StepScalingPolicyConfiguration")
                or properties.get("TargetTrackingScalingPolicyConfiguration")
                or {},
                policy_type=properties.get("PolicyType"),
            )
            return cls(name, namespace, resource_id, dimension, policy.policy_arn)

        @classmethod
        def update_from_properties(
            cls,
            original_resource: ScalingPolicyResource,
            new_resource_name: str,
            properties: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> ScalingPolicyResource:
            key = (properties.get("PolicyName") or new_resource_name, *cls._target(properties))
            original = (
                original_resource.name,
                original_resource.namespace,
                original_resource.resource_id,
                original_resource.dimension,
            )
            if key != original:  # another name or target: CloudFormation replaces the policy
                original_resource.delete(account_id, region_name)
                return cls.create_from_properties(new_resource_name, properties, account_id, region_name)
            updated = cls.create_from_properties(new_resource_name, properties, account_id, region_name)
            # PutScalingPolicy on an existing policy updates it: its ARN stays (moto mints a new one).
            backend = applicationautoscaling_backends[account_id][region_name]
            for policy in backend.policies.values():
                if policy.policy_arn == updated.arn:
                    policy.policy_arn = original_resource.arn
            updated.arn = original_resource.arn
            return updated

        def delete(self, account_id: str, region_name: str) -> None:
            with contextlib.suppress(AWSValidationException):  # gone with its target already
                applicationautoscaling_backends[account_id][region_name].delete_scaling_policy(
                    self.name, self.namespace, self.resource_id, self.dimension
                )

    return ScalableTargetResource, ScalingPolicyResource


@contextlib.contextmanager
def create_scaling_resources_from_templates() -> Iterator[None]:
    """moto implements the Application Auto Scaling API but has no CloudFormation model for
    ``AWS::ApplicationAutoScaling::ScalableTarget`` or ``AWS::ApplicationAutoScaling::ScalingPolicy``: it logs
    "No Moto CloudFormation support", registers nothing, and the stack lists neither resource.

    CloudFormation registers the target (RegisterScalableTarget with the template's ResourceId,
    ScalableDimension, MinCapacity, MaxCapacity and ScheduledActions), puts the policy (PutScalingPolicy), updates
    both in place, and deletes the policy and deregisters the target with the stack. This does the same through
    moto's own Application Auto Scaling backend; a target's id is ``ResourceId|ScalableDimension|ServiceNamespace``
    and a policy's is its ARN, as in CloudFormation.
    """
    target, policy = _scaling_models()
    with (
        _cloudformation_models(target, policy),
        mock.patch.object(target, "delete", _loud(target.delete)),
        mock.patch.object(policy, "delete", _loud(policy.delete)),
    ):
        yield


@contextlib.contextmanager
def update_endpoints_in_place() -> Iterator[None]:
    """moto ignores ``DeploymentConfig``, ``RetainAllVariantProperties`` and ``ExcludeRetainedVariantProperties``
    on ``AWS::SageMaker::Endpoint``: DescribeEndpoint never returns ``LastDeploymentConfig``, and an update deletes
    the endpoint and creates a new one (a new creation time, and every variant back at the new configuration's
    initial instance count: an endpoint autoscaling had scaled out is reset).

    CloudFormation updates an endpoint in place with UpdateEndpoint: it switches to the new configuration with the
    template's DeploymentConfig (which DescribeEndpoint then returns as ``LastDeploymentConfig``) and, with
    ``RetainAllVariantProperties``, keeps each variant's current instance count and weight (and the data capture
    configuration unless ``ExcludeRetainedVariantProperties`` lists it). A new ``EndpointName`` still replaces it.
    """
    from moto.core.utils import utcnow
    from moto.sagemaker.models import FakeEndpoint, sagemaker_backends

    def keep_deployment_config(endpoint: Any, properties: dict[str, Any]) -> None:
        endpoint.last_deployment_config = properties.get("DeploymentConfig")

    def update(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        if properties.get("EndpointName", original_resource.endpoint_name) != original_resource.endpoint_name:
            cls.delete_from_cloudformation_json(
                original_resource.arn, cloudformation_json, account_id, region_name
            )
            return cls.create_from_cloudformation_json(  # the completing creation, patched below
                properties["EndpointName"], cloudformation_json, account_id, region_name
            )
        backend = sagemaker_backends[account_id][region_name]
        endpoint: Any = backend.endpoints[original_resource.endpoint_name]
        config = backend.describe_endpoint_config(properties["EndpointConfigName"])
        variants = endpoint._process_production_variants(config["ProductionVariants"])
        retain = str(properties.get("RetainAllVariantProperties", False)).lower() == "true"
        excluded = {
            p.get("VariantPropertyType") for p in properties.get("ExcludeRetainedVariantProperties") or []
        }
        if retain:
            kept = [
                key for prop, keys in RETAINED_VARIANT_KEYS.items() if prop not in excluded for key in keys
            ]
            current = {v["VariantName"]: v for v in endpoint.production_variants}
            for variant in variants:
                old = current.get(variant["VariantName"], {})
                variant.update({key: old[key] for key in kept if key in old})
        if not retain or "DataCaptureConfig" in excluded:
            endpoint.data_capture_config = config.get("DataCaptureConfig")
        endpoint.production_variants = variants
        endpoint.endpoint_config_name = properties["EndpointConfigName"]
        if properties.get("DeploymentConfig") is not None:
            endpoint.last_deployment_config = properties["DeploymentConfig"]
        elif str(properties.get("RetainDeploymentConfig", False)).lower() != "true":
            endpoint.last_deployment_config = None
        endpoint.last_modified_time = utcnow()
        return endpoint

    with (
        _completing_creation(FakeEndpoint, keep_deployment_config),
        mock.patch.object(FakeEndpoint, "update_from_cloudformation_json", classmethod(update)),
    ):
        yield


INFERENCE_COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


@contextlib.contextmanager
def accept_inference_component_scaling() -> Iterator[None]:
    """moto's Application Auto Scaling rejects the scalable dimension
    ``sagemaker:inference-component:DesiredCopyCount`` ("Unsupported service namespace, resource type or scalable
    dimension"; its list predates inference components), in RegisterScalableTarget and in every call that names it.

    Application Auto Scaling scales an inference component's copies on that dimension (resource id
    ``inference-component/<name>``). Adds it to the dimensions moto accepts; the others are unchanged.
    """
    from enum import Enum

    from moto.applicationautoscaling import models, responses

    original = models.ScalableDimensionValueSet
    members = {m.name: m.value for m in original}
    members["SAGEMAKER_INFERENCE_COMPONENT_DESIRED_COPY_COUNT"] = INFERENCE_COMPONENT_DIMENSION
    extended = Enum("ScalableDimensionValueSet", members)  # type: ignore[misc]
    with (
        mock.patch.object(models, "ScalableDimensionValueSet", extended),
        mock.patch.object(responses, "ScalableDimensionValueSet", extended),
    ):
        yield


@contextlib.contextmanager
def accept_inference_component_endpoint_configs() -> Iterator[None]:
    """moto's CreateEndpointConfig requires a ``ModelName`` on every production variant (a KeyError without one:
    HTTP 500, the stack fails), and its endpoint config has no ``ExecutionRoleArn``, ``VpcConfig`` or
    ``EnableNetworkIsolation``: a template's values are dropped and DescribeEndpointConfig never returns them.

    SageMaker accepts variants without a model on a configuration for inference components (the components name
    the models), and keeps and returns the role, network and isolation such a configuration needs. This accepts
    those variants (a variant that names a model must still name an existing one) and keeps the three settings of
    configurations created from templates.
    """
    from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend

    original_validate = SageMakerModelBackend.validate_production_variants

    def validate_production_variants(self: Any, production_variants: list[dict[str, Any]]) -> None:
        original_validate(self, [v for v in production_variants if "ModelName" in v])

    def keep_settings(config: Any, properties: dict[str, Any]) -> None:
        config.execution_role_arn = properties.get("ExecutionRoleArn")
        config.vpc_config = properties.get("VpcConfig")
        if "EnableNetworkIsolation" in properties:
            config.enable_network_isolation = str(properties["EnableNetworkIsolation"]).lower() == "true"

    with (
        mock.patch.object(
            SageMakerModelBackend, "validate_production_variants", validate_production_variants
        ),
        _completing_creation(FakeEndpointConfig, keep_settings),
    ):
        yield


def _inference_components(backend: Any) -> dict[str, Any]:
    """The inference components a SageMaker backend holds (kept beside moto's own collections)."""
    components: dict[str, Any] = backend.__dict__.setdefault("rehearsal_inference_components", {})
    return components


def _inference_component_model() -> type[Any]:
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import sagemaker_backends
    from moto.sagemaker.utils import arn_formatter

    class InferenceComponent(_TemplateResource):
        """A SageMaker inference component, as CreateInferenceComponent makes it and DescribeInferenceComponent
        returns it; also ``AWS::SageMaker::InferenceComponent`` (its id, Ref, is the ARN)."""

        CFN_TYPE = "AWS::SageMaker::InferenceComponent"
        NAME_PROPERTY = "InferenceComponentName"
        CFN_ATTRIBUTES: ClassVar[Mapping[str, str]] = {
            "InferenceComponentArn": "arn",
            "InferenceComponentName": "name",
            "InferenceComponentStatus": "status",
        }
        # A component serves as soon as it is created (moto deploys nothing).
        status = "InService"

        def __init__(
            self,
            account_id: str,
            region_name: str,
            name: str,
            endpoint_name: str,
            variant_name: str,
            specification: dict[str, Any],
            runtime_config: dict[str, Any],
            deployment_config: dict[str, Any] | None,
        ) -> None:
            backend = sagemaker_backends[account_id][region_name]
            if endpoint_name not in backend.endpoints:
                arn = arn_formatter("endpoint", endpoint_name, account_id, region_name)
                raise ValidationError(message=f"Could not find endpoint '{arn}'.")
            model = specification.get("ModelName")
            if model is not None and model not in backend._models:
                raise ValidationError(message=f"Could not find model '{model}'.")
            if name in _inference_components(backend):
                raise ValidationError(message=f"Cannot create a duplicate inference component '{name}'.")
            self.name = name
            self.arn = arn_formatter("inference-component", name, account_id, region_name)
            self.endpoint_name = endpoint_name
            self.endpoint_arn = backend.endpoints[endpoint_name].arn
            self.variant_name = variant_name
            self.specification = specification
            copies = int(runtime_config.get("CopyCount", 1))
            self.runtime_config = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
            self.last_deployment_config = deployment_config
            self.creation_time = self.last_modified_time = utcnow()

        def describe(self) -> dict[str, Any]:
            answer = {
                "InferenceComponentName": self.name,
                "InferenceComponentArn": self.arn,
                "EndpointName": self.endpoint_name,
                "EndpointArn": self.endpoint_arn,
                "VariantName": self.variant_name,
                "Specification": self.specification,
                "RuntimeConfig": self.runtime_config,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "InferenceComponentStatus": self.status,
            }
            if self.last_deployment_config:
                answer["LastDeploymentConfig"] = self.last_deployment_config
            return answer

        def summary(self) -> dict[str, Any]:
            keys = (
                "InferenceComponentName",
                "InferenceComponentArn",
                "EndpointName",
                "EndpointArn",
                "VariantName",
                "CreationTime",
                "LastModifiedTime",
                "InferenceComponentStatus",
            )
            return {k: v for k, v in self.describe().items() if k in keys}

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @classmethod
        def create(cls, account_id: str, region_name: str, **params: Any) -> InferenceComponent:
            component = cls(account_id, region_name, **params)
            _inference_components(sagemaker_backends[account_id][region_name])[component.name] = component
            return component

        @classmethod
        def create_from_properties(
            cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
        ) -> InferenceComponent:
            return cls.create(
                account_id,
                region_name,
                name=resource_name,
                endpoint_name=p["EndpointName"],
                variant_name=p.get("VariantName", ""),
                specification=p.get("Specification", {}),
                runtime_config=p.get("RuntimeConfig", {}),
                deployment_config=p.get("DeploymentConfig"),
            )

        @classmethod
        def update_from_properties(
            cls,
            original_resource: InferenceComponent,
            new_resource_name: str,
            p: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> InferenceComponent:
            name = p.get("InferenceComponentName") or original_resource.name
            if name != original_resource.name or p["EndpointName"] != original_resource.endpoint_name:
                original_resource.delete(account_id, region_name)  # CloudFormation replaces the component
                return cls.create_from_properties(name, p, account_id, region_name)
            # UpdateInferenceComponent: a new specification and runtime config, in place.
            original_resource.specification = p.get("Specification", {})
            if p.get("RuntimeConfig"):
                copies = int(p["RuntimeConfig"].get("CopyCount", 1))
                original_resource.runtime_config = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
            original_resource.last_deployment_config = p.get("DeploymentConfig")
            original_resource.last_modified_time = utcnow()
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            _inference_components(sagemaker_backends[account_id][region_name]).pop(self.name, None)

    return InferenceComponent


@contextlib.contextmanager
def host_inference_components() -> Iterator[None]:
    """moto has no inference components at all: CreateInferenceComponent, DescribeInferenceComponent,
    ListInferenceComponents and DeleteInferenceComponent are not implemented, and CloudFormation has no model
    for ``AWS::SageMaker::InferenceComponent`` ("No Moto CloudFormation support"), so nothing hosts the model of
    a scale-to-zero endpoint.

    SageMaker hosts a model on an endpoint's variant as an inference component (the endpoint and the model must
    exist), describes and lists it, and deletes it; CloudFormation creates it, updates it in place (a new name or
    endpoint replaces it) and deletes it with the stack. This adds those four calls and the CloudFormation
    resource, on moto's SageMaker backend. Invocations naming a component are answered as any other (moto's
    queued results).
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    model = _inference_component_model()

    def components(response: Any) -> dict[str, Any]:
        return _inference_components(response.sagemaker_backend)

    def find(response: Any) -> Any:
        name = response._get_param("InferenceComponentName")
        if name not in components(response):
            raise ValidationError(message=f"Could not find inference component '{name}'.")
        return components(response)[name]

    def create_inference_component(self: Any) -> ActionResult:
        component = model.create(
            self.current_account,
            self.region,
            name=self._get_param("InferenceComponentName"),
            endpoint_name=self._get_param("EndpointName"),
            variant_name=self._get_param("VariantName"),
            specification=self._get_param("Specification") or {},
            runtime_config=self._get_param("RuntimeConfig") or {},
            deployment_config=None,
        )
        return ActionResult({"InferenceComponentArn": component.arn})

    def describe_inference_component(self: Any) -> ActionResult:
        return ActionResult(find(self).describe())

    def list_inference_components(self: Any) -> ActionResult:
        endpoint = self._get_param("EndpointNameEquals")
        listed = [c.summary() for c in components(self).values() if endpoint in (None, c.endpoint_name)]
        return ActionResult({"InferenceComponents": listed})

    def delete_inference_component(self: Any) -> EmptyResult:
        components(self).pop(find(self).name)
        return EmptyResult()

    calls = {
        "create_inference_component": create_inference_component,
        "describe_inference_component": describe_inference_component,
        "list_inference_components": list_inference_components,
        "delete_inference_component": delete_inference_component,
    }
    with contextlib.ExitStack() as stack:
        for name, call in calls.items():
            stack.enter_context(mock.patch.object(SageMakerResponse, name, call, create=True))
        stack.enter_context(_cloudformation_models(model))
        stack.enter_context(mock.patch.object(model, "delete", _loud(model.delete)))
        yield


ENDPOINT_RESULTS_PATH = "{0}/moto-api/static/sagemaker/endpoint-results"


class QueuedError(NamedTuple):
    """An InvokeEndpoint error waiting in moto's results queue."""

    code: str
    message: str
    status: int


def queue_endpoint_results(account_id: str, region: str, results: list[dict[str, Any]]) -> None:
    """Queue what InvokeEndpoint answers next: a result (``Body``, ``ContentType``, ...) as moto queues it, or an
    ``Error`` (``{"Code", "Message", "StatusCode"}``)."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    queue: list[Any] = sagemakerruntime_backends[account_id][region].results_queue
    for result in results:
        if "Error" in result:
            error = result["Error"]
            queue.append(QueuedError(error["Code"], error["Message"], int(error.get("StatusCode", 400))))
        else:
            queue.append(
                (
                    result["Body"],
                    result.get("ContentType"),
                    result.get("InvokedProductionVariant"),
                    result.get("CustomAttributes"),
                )
            )


@contextlib.contextmanager
def answer_each_invocation_from_the_queue() -> Iterator[None]:
    """moto's InvokeEndpoint answers from a queue of canned results (``POST
    /moto-api/static/sagemaker/endpoint-results``) that holds successes only: a result without a ``Body`` fails the
    POST (a KeyError, HTTP 500), so an invocation can never fail. And moto remembers the answer to each distinct
    request: the same request sent again gets its first answer again, never the next queued one.

    SageMaker answers every invocation anew: a client that retries one request while an inference component scales
    up from zero gets a ValidationError ("Inference Component has no capacity to process this request ...") until a
    copy serves, then the model's answer. With this correction a queued result may be an error, ``{"Error": {"Code":
    "ValidationError", "Message": "...", "StatusCode": 400}}``, answered as SageMaker runtime answers errors (the code
    in the ``x-amzn-ErrorType`` header, ``{"message": ...}`` in the body); and while the queue holds results, each
    invocation takes the next one, repeated or not (an empty queue falls back to moto's own answers).
    """
    from moto.moto_api._internal import urls
    from moto.moto_api._internal.responses import MotoAPIResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    original_invoke = SageMakerRuntimeResponse.invoke_endpoint

    def set_sagemaker_result(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        body = MotoAPIResponse()._get_body(headers, request)
        queue_endpoint_results(
            body.get("account_id", "123456789012"), body.get("region", "us-east-1"), body.get("results", [])
        )
        return 201, {}, ""

    def invoke_endpoint(self: Any) -> Any:
        queue = self.sagemakerruntime_backend.results_queue
        if not queue:
            return original_invoke(self)
        answer = queue.pop(0)
        if isinstance(answer, QueuedError):
            # moto takes a handler's status from its "status" header.
            headers = {
                "x-amzn-ErrorType": answer.code,
                "Content-Type": "application/json",
                "status": str(answer.status),
            }
            return answer.status, headers, json.dumps({"message": answer.message})
        body, content_type, variant, attributes = answer
        headers = {"Content-Type": content_type}
        if variant:
            headers["x-Amzn-Invoked-Production-Variant"] = variant
        if attributes:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = attributes
        return 200, headers, body

    with (
        mock.patch.dict(urls.url_paths, {ENDPOINT_RESULTS_PATH: set_sagemaker_result}),
        mock.patch.object(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint),
    ):
        yield


@contextlib.contextmanager
def accept_other_accounts_layer_versions() -> Iterator[None]:
    """moto accepts only layer versions published in its own backend: a function using a layer another account
    publishes (the AWS Lambda Web Adapter layer, from AWS's account 753240598075) fails CreateFunction and, from a
    template, UpdateFunctionConfiguration ("One or more LayerVersion does not exist").

    Lambda accepts another account's layer version that the caller may use (AWS's public layers allow everyone).
    Unknown layer versions of the function's own account are still refused.
    """
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._get_layers_data

    def get_layers_data(self: Any, arns: list[str]) -> list[dict[str, Any]]:
        foreign = [arn for arn in arns if arn.split(":")[4:5] != [self.account_id]]
        known = original(self, [arn for arn in arns if arn not in foreign])
        by_arn: dict[str, dict[str, Any]] = {layer["Arn"]: dict(layer) for layer in known}
        by_arn.update({arn: {"Arn": arn, "CodeSize": 0} for arn in foreign})
        return [by_arn[arn] for arn in arns]

    with mock.patch.object(LambdaFunction, "_get_layers_data", get_layers_data):
        yield


def _in_dependency_order(names: list[str], resources: Mapping[str, Any]) -> list[str]:
    """``names`` with each after the resources among them it ``DependsOn``, in template order otherwise."""
    among = set(names)
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        depends_on = resources.get(name, {}).get("DependsOn") or []
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            if dependency in among:
                visit(dependency)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


@contextlib.contextmanager
def create_added_resources_in_dependency_order() -> Iterator[None]:
    """moto's ExecuteChangeSet (the only way the CDK deploys) creates the resources a change set adds in template
    order, ignoring ``DependsOn`` (CreateStack honours it; ``Ref`` and ``Fn::GetAtt`` targets are created on
    demand either way): the REST API's ``AWS::ApiGateway::Deployment``, which depends on its methods without
    referencing them, comes first and fails ("The REST API doesn't contain any methods", HTTP 400 in JSON, which
    the CDK's SDK cannot parse).

    CloudFormation creates a resource only after those it depends on (CloudFormation user guide, "DependsOn
    attribute"). This orders the added resources so that each comes after those it ``DependsOn``.
    """
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.build_resource_diff

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        diff: dict[str, Any] = original(self, other_template, parameters)
        diff["Add"] = _in_dependency_order(diff["Add"], other_template["Resources"])
        return diff

    with mock.patch.object(ResourceMap, "build_resource_diff", build_resource_diff):
        yield


def _true(value: object) -> bool:
    """A template boolean (true, "true", "True") as a bool."""
    return str(value).lower() == "true"


# A stage's MethodSettings in the template (AWS::ApiGateway::Stage MethodSetting) -> the key GetStage returns
# them under (API Gateway's MethodSetting shape), and how each value is typed there.
STAGE_METHOD_SETTINGS: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "MetricsEnabled": ("metricsEnabled", _true),
    "LoggingLevel": ("loggingLevel", str),
    "DataTraceEnabled": ("dataTraceEnabled", _true),
    "ThrottlingBurstLimit": ("throttlingBurstLimit", int),
    "ThrottlingRateLimit": ("throttlingRateLimit", float),
    "CachingEnabled": ("cachingEnabled", _true),
    "CacheTtlInSeconds": ("cacheTtlInSeconds", int),
    "CacheDataEncrypted": ("cacheDataEncrypted", _true),
}


def _api_stage_model() -> type[Any]:
    from moto.apigateway.exceptions import RestAPINotFound, StageNotFoundException
    from moto.apigateway.models import apigateway_backends

    class ApiStageResource(_TemplateResource):
        """``AWS::ApiGateway::Stage`` through moto's own API Gateway backend (CreateStage, then the settings
        UpdateStage sets). Its id, ``Ref``, is the stage's name (CloudFormation template reference,
        AWS::ApiGateway::Stage, "Return values")."""

        CFN_TYPE = "AWS::ApiGateway::Stage"
        NAME_PROPERTY = "StageName"

        def __init__(self, rest_api_id: str, name: str) -> None:
            self.rest_api_id = rest_api_id
            self.name = name

        @property
        def physical_resource_id(self) -> str:
            return self.name

        @staticmethod
        def _settings(stage: Any, p: Mapping[str, Any]) -> None:
            """What CreateStage does not take: access logs, per-method settings, tracing, description."""
            access = p.get("AccessLogSetting")
            stage.access_log_settings = (
                {"destinationArn": access["DestinationArn"], "format": access.get("Format", "")}
                if access
                else None
            )
            # API Gateway keys method settings by resource path (without its first slash) and method: "*/*"
            # for ResourcePath "/*" and HttpMethod "*" (AWS::ApiGateway::Stage MethodSetting, ResourcePath).
            stage.method_settings = {}
            for setting in p.get("MethodSettings") or []:
                key = f"{setting.get('ResourcePath', '/*')[1:]}/{setting.get('HttpMethod', '*')}"
                values = stage._get_default_method_settings()
                for name, (api_name, typed) in STAGE_METHOD_SETTINGS.items():
                    if name in setting:
                        values[api_name] = typed(setting[name])
                stage.method_settings[key] = values
            stage.tracing_enabled = _true(p.get("TracingEnabled", False))
            stage.description = p.get("Description", "")
            stage.variables = dict(p.get("Variables") or {})
            stage.deployment_id = p["DeploymentId"]

        @classmethod
        def create_from_properties(
            cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
        ) -> ApiStageResource:
            name = p.get("StageName") or resource_name
            stage = apigateway_backends[account_id][region_name].create_stage(
                p["RestApiId"],
                name,
                p["DeploymentId"],
                cacheClusterEnabled=_true(p.get("CacheClusterEnabled", False)),
                cacheClusterSize=p.get("CacheClusterSize"),
                tags={t["Key"]: t["Value"] for t in p.get("Tags") or []} or None,
            )
            cls._settings(stage, p)
            return cls(p["RestApiId"], name)

        @classmethod
        def update_from_properties(
            cls,
            original_resource: ApiStageResource,
            new_resource_name: str,
            p: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> ApiStageResource:
            name = p.get("StageName") or original_resource.name
            if (p["RestApiId"], name) != (original_resource.rest_api_id, original_resource.name):
                original_resource.delete(account_id, region_name)  # CloudFormation replaces the stage
                return cls.create_from_properties(name, p, account_id, region_name)
            # UpdateStage: the new deployment and settings, in place.
            stage = apigateway_backends[account_id][region_name].get_stage(p["RestApiId"], name)
            cls._settings(stage, p)
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            # Gone with its API already when the API went first.
            with contextlib.suppress(RestAPINotFound, StageNotFoundException):
                apigateway_backends[account_id][region_name].delete_stage(self.rest_api_id, self.name)

    return ApiStageResource


@contextlib.contextmanager
def create_api_stages_from_templates() -> Iterator[None]:
    """moto has no CloudFormation model for ``AWS::ApiGateway::Stage`` (which the CDK's RestApi always makes): it
    logs "No Moto CloudFormation support", creates no stage, and ``Ref`` to it (the stage name in the API's URL,
    the ``Stage`` dimension of its alarms) resolves to nothing: the alarms fail the deploy (a KeyError: HTTP 500).

    CloudFormation creates the stage on the deployment with its access log destination and format, its method
    settings (logging level, data trace, metrics, caching, throttling), tracing and variables, updates it in
    place and deletes it with the stack; ``Ref`` is the stage name. This does the same through moto's API Gateway
    backend (CreateStage, the settings as UpdateStage keeps them, DeleteStage).
    """
    model = _api_stage_model()
    with _cloudformation_models(model), mock.patch.object(model, "delete", _loud(model.delete)):
        yield


@contextlib.contextmanager
def refer_to_api_deployments_by_id() -> Iterator[None]:
    """moto's ``AWS::ApiGateway::Deployment`` has no physical id: ``Ref`` to it (a stage's ``DeploymentId``)
    resolves to moto's Python object, not the deployment's id, and ListStackResources lists an empty id. It has no
    CloudFormation delete either: a deployment the template no longer has stays on the API.

    CloudFormation's ``Ref`` of a deployment is its id (CloudFormation template reference,
    AWS::ApiGateway::Deployment, "Return values"), and a deployment goes with the stack or the template that drops
    it. This gives moto's deployment its id as the physical id and a delete (DeleteDeployment).
    """
    from moto.apigateway.models import Deployment, apigateway_backends

    def delete_deployment(self: Any, account_id: str, region_name: str) -> None:
        # The deployment does not know its API; when the API went first, no API holds it any more.
        for api in apigateway_backends[account_id][region_name].apis.values():
            api.deployments.pop(self.id, None)

    with (
        mock.patch.object(Deployment, "physical_resource_id", property(lambda self: self.id), create=True),
        mock.patch.object(Deployment, "delete", _loud(delete_deployment), create=True),
    ):
        yield


@contextlib.contextmanager
def keep_rest_api_policies_and_endpoint_types() -> Iterator[None]:
    """moto's ``AWS::ApiGateway::RestApi`` drops the template's ``Policy`` (GetRestApi returns no resource policy)
    and keeps ``EndpointConfiguration`` in the template's spelling (``Types``), which GetRestApi cannot return: a
    PRIVATE API reads back as ``{}``, of no endpoint type.

    CloudFormation creates the API with its resource policy (GetRestApi returns it as a JSON string) and endpoint
    configuration (``types``, ``vpcEndpointIds``). This keeps both, and the template's description and tags.
    """
    from moto.apigateway.models import RestAPI

    def keep_policy_and_endpoint_configuration(api: Any, p: dict[str, Any]) -> None:
        policy = p.get("Policy")
        if policy is not None:
            api.policy = policy if isinstance(policy, str) else json.dumps(policy)
        config = p.get("EndpointConfiguration")
        if config is not None:
            api.endpoint_configuration = {"types": list(config.get("Types") or [])}
            if config.get("VpcEndpointIds"):
                api.endpoint_configuration["vpcEndpointIds"] = list(config["VpcEndpointIds"])
        api.tags = {t["Key"]: t["Value"] for t in p.get("Tags") or []}

    with _completing_creation(RestAPI, keep_policy_and_endpoint_configuration):
        yield


@contextlib.contextmanager
def delete_rest_apis_with_stack() -> Iterator[None]:
    """moto's ``AWS::ApiGateway::RestApi`` has no CloudFormation delete: DeleteStack leaves the API, its resources,
    methods, deployments and stages behind.

    CloudFormation deletes the API with the stack, and everything in it goes with it (DeleteRestApi).
    """
    from moto.apigateway.models import RestAPI, apigateway_backends

    def delete_api(self: Any, account_id: str, region_name: str) -> None:
        apigateway_backends[account_id][region_name].apis.pop(self.id, None)  # DeleteRestApi, once

    with mock.patch.object(RestAPI, "delete", _loud(delete_api), create=True):
        yield


# The integration's responseTransferMode when none is given (botocore's apigateway model: BUFFERED or STREAM).
DEFAULT_TRANSFER_MODE = "BUFFERED"


@contextlib.contextmanager
def keep_streaming_integrations() -> Iterator[None]:
    """moto drops an integration's ``responseTransferMode`` (it predates streaming: PutIntegration ignores it and
    GetIntegration never returns it) and, from templates, also its ``TimeoutInMillis``: a Lambda proxy integration
    in ``STREAM`` mode reads back as a buffered one with the default timeout.

    API Gateway keeps both: ``STREAM`` makes the integration call the function's response-streaming invocation
    (the URI ``.../2021-11-15/functions/{arn}/response-streaming-invocations``, which moto stores as given) and
    allows a timeout up to 15 minutes (API Gateway developer guide, "Stream the integration response for your
    proxy integrations"). This keeps and returns both, from PutIntegration and from ``AWS::ApiGateway::Method``
    (``BUFFERED`` when none was given, API Gateway's other mode).
    """
    from moto.apigateway.models import Integration, Method
    from moto.apigateway.responses import APIGatewayResponse

    original_to_json = Integration.to_json
    original_put = APIGatewayResponse.put_integration

    def to_json(self: Any) -> dict[str, Any]:
        answer = original_to_json(self)
        answer["responseTransferMode"] = getattr(self, "response_transfer_mode", DEFAULT_TRANSFER_MODE)
        return answer

    def put_integration(self: Any) -> Any:
        status, headers, _ = original_put(self)
        parts = self.path.split("/")
        integration = self.backend.get_integration(parts[2], parts[4], parts[6])
        integration.response_transfer_mode = self._get_param("responseTransferMode") or DEFAULT_TRANSFER_MODE
        return status, headers, json.dumps(integration.to_json())

    def keep_transfer_mode(method: Any, properties: dict[str, Any]) -> None:
        settings = properties["Integration"]
        integration = method.method_integration
        integration.response_transfer_mode = settings.get("ResponseTransferMode", DEFAULT_TRANSFER_MODE)
        if "TimeoutInMillis" in settings:
            integration.timeout_in_millis = int(settings["TimeoutInMillis"])

    with (
        mock.patch.object(Integration, "to_json", to_json),
        mock.patch.object(APIGatewayResponse, "put_integration", put_integration),
        _completing_creation(Method, keep_transfer_mode),
    ):
        yield


EMULATOR_PATCHES: tuple[Callable[[], contextlib.AbstractContextManager[None]], ...] = (
    accept_g5_instance_types,
    honour_sagemaker_endpoint_name,
    create_function_urls_from_templates,
    create_metric_alarms_from_templates,
    apply_topic_policies_from_templates,
    rebuild_outputs_after_change_set,
    answer_missing_change_sets_like_cloudformation,
    delete_change_sets_with_their_stack,
    keep_ssm_parameter_names_on_update,
    update_dependents_of_replaced_resources,
    delete_network_resources_with_stack,
    delete_managed_policies_with_stack,
    create_scaling_resources_from_templates,
    update_endpoints_in_place,
    accept_inference_component_scaling,
    accept_inference_component_endpoint_configs,
    host_inference_components,
    answer_each_invocation_from_the_queue,
    accept_other_accounts_layer_versions,
    create_added_resources_in_dependency_order,
    create_api_stages_from_templates,
    refer_to_api_deployments_by_id,
    keep_rest_api_policies_and_endpoint_types,
    delete_rest_apis_with_stack,
    keep_streaming_integrations,
)


@contextlib.contextmanager
def emulator_patches() -> Iterator[None]:
    """Every emulator patch at once (the server process enters this and never leaves)."""
    with contextlib.ExitStack() as stack:
        for patch in EMULATOR_PATCHES:
            stack.enter_context(patch())
        yield


# How often the server checks that the process that started it is still there.
PARENT_POLL_S = 0.2


def watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once this process's parent is no longer ``parent_pid``: it died (SIGKILL too) and this
    process was handed to init or a subreaper. Also when it died before this process looked."""
    while not stop.wait(PARENT_POLL_S):
        if os.getppid() != parent_pid:
            stop.set()


def serve(port: int = 0, parent_pid: int | None = None) -> None:
    """Run moto's server on 127.0.0.1 with every emulator patch applied, until SIGTERM or SIGINT, or until
    the process ``parent_pid`` (the rehearsal that started it) dies.

    ``port`` 0 lets the system choose a free port, so no other process can take it between a probe and the
    bind. The first line on stdout is ``listening on 127.0.0.1:<port>``, once the server accepts connections.
    """
    import moto
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    if moto.__version__ != MOTO_VERSION:
        raise SystemExit(
            f"these corrections were checked with moto {MOTO_VERSION}, found {moto.__version__}: "
            "run tests/rehearsal/test_moto_corrections.py and update MOTO_VERSION"
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if parent_pid is not None:
        threading.Thread(target=watch_parent, args=(parent_pid, stop), name="parent", daemon=True).start()
    with emulator_patches():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            bound = server.get_host_and_port()[1]
            os.environ["MOTO_PORT"] = str(bound)  # what moto's server mode uses in the URLs it builds
            print(f"listening on 127.0.0.1:{bound}", flush=True)
            stop.wait()
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="moto server with the rehearsal's corrections")
    parser.add_argument("--port", type=int, default=0, help="default: a free port the system chooses")
    parser.add_argument("--parent-pid", type=int, help="exit when this process (the rehearsal) is gone")
    args = parser.parse_args()
    serve(args.port, args.parent_pid)
