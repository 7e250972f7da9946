"""Corrections for the moto emulator's known gaps, so the deploy rehearsal (scripts/rehearse.py) can run.

The rehearsal deploys the real, unchanged template with the real CDK CLI. Where moto (pinned in
requirements-dev.txt) behaves unlike CloudFormation, the difference is corrected here and nowhere else:

* Emulator patches (``EMULATOR_PATCHES``) are applied inside the moto server process the rehearsal starts
  (``python tests/rehearsal/moto_corrections.py --port N``). They never touch the project's code or the
  template it ships; they make moto do what CloudFormation does.
* ``remove_resources_moto_leaves_behind`` runs through the EC2 API after ``cdk destroy``, and only removes
  resources of the types moto is known to leave, that the destroyed stack itself created.

Each correction names the moto behaviour it fixes. tests/rehearsal/test_moto_corrections.py proves, for each,
that the gap still exists in the installed moto (when moto fixes one, its test fails and says the correction
can go) and that the correction works.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

# The moto release these corrections were written against (requirements-dev.txt pins it).
MOTO_VERSION = "5.2.5"

# What SageMaker real-time endpoints offer in the g5 family (the construct's default is ml.g5.2xlarge).
G5_INSTANCE_TYPES = frozenset(
    f"ml.g5.{size}" for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")
)

SSM_PARAMETER_TYPE_PREFIX = "AWS::SSM::Parameter::"


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


def _function_url_model() -> type[Any]:
    from moto.awslambda.models import lambda_backends
    from moto.core.common_models import CloudFormationModel

    class FunctionUrlResource(CloudFormationModel):
        """``AWS::Lambda::Url`` through moto's own Lambda backend (the same call as CreateFunctionUrlConfig)."""

        # moto files each model under the service named by its module path (moto.<service>...).
        __module__ = "moto.awslambda.rehearsal_corrections"

        def __init__(self, function_arn: str, url: str) -> None:
            self.function_arn = function_arn
            self.url = url

        @property
        def physical_resource_id(self) -> str:
            return self.function_arn

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::Url"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("FunctionUrl", "FunctionArn")

        def get_cfn_attribute(self, attribute_name: str) -> str:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            if attribute_name == "FunctionUrl":
                return self.url
            if attribute_name == "FunctionArn":
                return self.function_arn
            raise UnformattedGetAttTemplateException()

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> FunctionUrlResource:
            properties = dict(cloudformation_json["Properties"])
            function_arn = properties.pop("TargetFunctionArn")
            config = lambda_backends[account_id][region_name].create_function_url_config(function_arn, properties)
            return cls(function_arn, config.url)

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls,
            original_resource: FunctionUrlResource,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> FunctionUrlResource:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )

        def delete(self, account_id: str, region_name: str) -> None:
            from moto.awslambda.exceptions import UnknownFunctionException

            # When the function went first, its URL went with it (as in Lambda).
            with contextlib.suppress(UnknownFunctionException):
                lambda_backends[account_id][region_name].delete_function_url_config(self.function_arn)

    return FunctionUrlResource


def _clear_model_caches() -> None:
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


@contextlib.contextmanager
def create_function_urls_from_templates() -> Iterator[None]:
    """moto has no CloudFormation model for ``AWS::Lambda::Url``: it logs "No Moto CloudFormation support",
    creates nothing, and ``Fn::GetAtt [Url, FunctionUrl]`` in an output cannot resolve.

    Registers a model that creates the URL config through moto's Lambda backend, resolves ``FunctionUrl`` and
    ``FunctionArn``, and deletes the config with the stack.
    """
    from moto.cloudformation import parsing

    model = _function_url_model()
    original = parsing.get_model_list

    def model_list() -> list[type[Any]]:
        return [*original(), model]

    _clear_model_caches()
    try:
        with mock.patch.object(parsing, "get_model_list", model_list):
            yield
    finally:
        _clear_model_caches()


@contextlib.contextmanager
def rebuild_outputs_after_change_set() -> Iterator[None]:
    """moto's ExecuteChangeSet applies the new template's resources but keeps the stack's parsed template and
    Outputs from CreateChangeSet time; the CDK deploys through change sets only, so DescribeStacks returns no
    Outputs (or stale ones after an update) and ``--outputs-file`` is empty.

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
def keep_ssm_parameter_names_on_update() -> Iterator[None]:
    """moto answers ``UsePreviousValue`` with the parameter's resolved value; for an SSM-typed parameter (the
    CDK's ``BootstrapVersion``, type ``AWS::SSM::Parameter::Value<String>``) it then resolves that value again
    as a parameter name and fails the update with ParameterNotFound ("33" is not a parameter).

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


EMULATOR_PATCHES: tuple[Callable[[], contextlib.AbstractContextManager[None]], ...] = (
    accept_g5_instance_types,
    honour_sagemaker_endpoint_name,
    create_function_urls_from_templates,
    rebuild_outputs_after_change_set,
    answer_missing_change_sets_like_cloudformation,
    keep_ssm_parameter_names_on_update,
)


@contextlib.contextmanager
def emulator_patches() -> Iterator[None]:
    """Every emulator patch at once (the server process enters this and never leaves)."""
    with contextlib.ExitStack() as stack:
        for patch in EMULATOR_PATCHES:
            stack.enter_context(patch())
        yield


# Resource types moto creates from a template but never deletes with the stack (no delete hook in its models).
TYPES_MOTO_LEAVES_BEHIND = ("AWS::EC2::FlowLog", "AWS::EC2::VPCEndpoint", "AWS::EC2::RouteTable")


@dataclass(frozen=True)
class Leftovers:
    """What ``remove_resources_moto_leaves_behind`` found and removed, by resource type."""

    removed: dict[str, list[str]]

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.removed.values())


def remove_resources_moto_leaves_behind(ec2: Any, created: Mapping[str, list[str]]) -> Leftovers:
    """moto's models for AWS::EC2::FlowLog, AWS::EC2::VPCEndpoint and AWS::EC2::RouteTable have no
    CloudFormation delete: DeleteStack reports DELETE_COMPLETE and leaves them (and, because of the route
    tables, the VPC too: DeleteVpc refuses while they remain).

    ``created`` maps each of those types to the physical ids the stack listed before destroy. Only resources
    in that list are removed (flow logs and endpoints first, then route tables, then VPCs that now have no
    subnets left): anything else that survived the destroy is left for the caller's assertions to report.
    """
    removed: dict[str, list[str]] = {}
    flow_logs = set(created.get("AWS::EC2::FlowLog", []))
    if flow_logs:
        found = [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"] if f["FlowLogId"] in flow_logs]
        if found:
            ec2.delete_flow_logs(FlowLogIds=found)
        removed["AWS::EC2::FlowLog"] = found
    endpoints = set(created.get("AWS::EC2::VPCEndpoint", []))
    if endpoints:
        found = [
            e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["VpcEndpointId"] in endpoints
        ]
        if found:
            ec2.delete_vpc_endpoints(VpcEndpointIds=found)
        removed["AWS::EC2::VPCEndpoint"] = found
    tables = set(created.get("AWS::EC2::RouteTable", []))
    if tables:
        found = []
        for table in ec2.describe_route_tables()["RouteTables"]:
            if table["RouteTableId"] in tables:
                for association in table.get("Associations", []):
                    if not association.get("Main"):
                        ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
                ec2.delete_route_table(RouteTableId=table["RouteTableId"])
                found.append(table["RouteTableId"])
        removed["AWS::EC2::RouteTable"] = found
    vpcs = set(created.get("AWS::EC2::VPC", []))
    if vpcs:
        found = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["VpcId"] in vpcs]
        for vpc_id in found:
            ec2.delete_vpc(VpcId=vpc_id)
        removed["AWS::EC2::VPC"] = found
    return Leftovers(removed)


def serve(port: int) -> None:
    """Run moto's server on 127.0.0.1:``port`` with every emulator patch applied; SIGTERM/SIGINT stop it."""
    import moto
    from moto.server import main

    if moto.__version__ != MOTO_VERSION:
        raise SystemExit(
            f"these corrections were checked with moto {MOTO_VERSION}, found {moto.__version__}: "
            "run tests/rehearsal/test_moto_corrections.py and update MOTO_VERSION"
        )
    with emulator_patches():
        main(["--host", "127.0.0.1", "--port", str(port)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="moto server with the rehearsal's corrections")
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)
