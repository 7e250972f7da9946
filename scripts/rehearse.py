#!/usr/bin/env python3
"""Deploy rehearsal: cdk bootstrap, deploy, invoke, update and destroy against a local AWS emulator.

Runs the real CDK CLI on the real app against a moto server it starts on 127.0.0.1 (and always stops), with
dummy credentials and no AWS configuration from the machine. moto's known gaps are corrected inside that
server by tests/rehearsal/moto_corrections.py (each correction documented and tested there). Nothing is sent
anywhere but 127.0.0.1. What this proves and what it cannot: README.md, section "Deploy rehearsal (no AWS
account)".

Usage: make rehearse   (or .venv/bin/python scripts/rehearse.py [--out DIR])
The last line of the output is a one-line summary; the exit status is 0 only if every phase passed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import importlib
import io
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
CORRECTIONS = ROOT / "tests" / "rehearsal" / "moto_corrections.py"
DEFAULT_OUT = ROOT / "rehearsal.out"
CDK = ROOT / "node_modules" / ".bin" / "cdk"

STACK = "MistralEndpointStack"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
# Synthesis flags for every CDK command. compliance=off skips the cdk-nag packs: they only validate (the
# template is the same), and `make synth` / `make test` already run them.
SYNTH_FLAGS = ("-c", f"region={REGION}", "-c", "compliance=off")
# The update: a proxy setting (Lambda environment) and a container setting (replaces the SageMaker model and
# endpoint config, then updates the endpoint): both update paths of the stack.
UPDATE_CONTEXT = {"defaultMaxNewTokens": "256", "maxConcurrentRequests": "64"}

# Template resource types moto 5.2.5 does not model at all (it logs "No Moto CloudFormation support"): they
# are in the template but cannot be checked here. README.md ("Deploy rehearsal (no AWS account)") lists them.
NOT_EMULATED = frozenset({"AWS::CDK::Metadata", "AWS::EC2::SecurityGroupEgress"})


class RehearsalError(AssertionError):
    """A rehearsal check failed."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise RehearsalError(message)


# --------------------------------------------------------------------------------------------- emulator


# HTTP to the emulator only, never through a proxy from the environment (HTTP_PROXY and the like).
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Emulator:
    """moto's server with the rehearsal's corrections, in a child process on 127.0.0.1."""

    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server on a port it chooses itself and wait until it reports that it listens.

        The server exits by itself when this process dies (even by SIGKILL, which leaves no chance to stop it):
        it watches for its parent, this process, to go.
        """
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(CORRECTIONS), "--port", "0", "--parent-pid", str(os.getpid())],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=emulator_env(),
                cwd=ROOT,
                start_new_session=True,  # Ctrl-C reaches the rehearsal, which stops the server itself
            )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        line = self.process.stdout.readline().decode(errors="replace").strip() if ready else ""
        listening = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line)
        if listening is None:
            self.stop()
            raise RehearsalError(
                f"moto did not start on 127.0.0.1 ({line or 'no answer'}); see {self.log_path}"
            )
        self.port = int(listening.group(1))
        # Whatever the server writes after that line goes to its log: a full pipe would stall it.
        self._drain = threading.Thread(
            target=_copy_lines, args=(self.process.stdout, self.log_path), name="emulator-stdout", daemon=True
        )
        self._drain.start()
        check(self._ready(), f"moto reported port {self.port} but does not answer there")

    def _ready(self) -> bool:
        try:
            with LOOPBACK.open(f"{self.url}/moto-api/data.json", timeout=5) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until its port is closed."""
        process, self.process = self.process, None
        drain, self._drain = self._drain, None
        if process is None:
            return
        stop_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if drain is not None:
            drain.join(timeout=5)  # it ends at end of file, once the server has exited
        if process.stdout is not None and (drain is None or not drain.is_alive()):
            process.stdout.close()
        if self.port:
            deadline = time.monotonic() + 5
            while port_is_open(self.port) and time.monotonic() < deadline:
                time.sleep(0.1)

    def queue_sagemaker_answers(self, bodies: list[str]) -> None:
        """What the endpoint's InvokeEndpoint answers next (moto's static results queue)."""
        payload = {
            "account_id": ACCOUNT,
            "region": REGION,
            "results": [{"Body": body, "ContentType": "application/json"} for body in bodies],
        }
        request = urllib.request.Request(
            f"{self.url}/moto-api/static/sagemaker/endpoint-results",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with LOOPBACK.open(request, timeout=5) as response:
            check(
                response.status == 201 or response.status == 200, f"queueing answers: HTTP {response.status}"
            )


def _copy_lines(source: IO[bytes], log_path: Path) -> None:
    """Copy the emulator's stdout to its log until end of file."""
    with log_path.open("ab") as log:
        for line in iter(source.readline, b""):
            log.write(line)
            log.flush()


def emulator_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ------------------------------------------------------------------------------------------ environment


def aws_env(endpoint_url: str, home: Path) -> dict[str, str]:
    """The environment for the CDK CLI and boto3: dummy credentials, everything pointed at the emulator.

    Nothing from the machine's AWS configuration leaks in (profiles, credential files, SSO, proxies), and
    the CDK CLI sends no telemetry, notices or version checks.
    """
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "SYSTEMROOT")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    empty = home / "empty-aws-config"
    empty.touch()
    env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint_url,
        # The CDK builds template URLs with this name; moto reads the template from its own S3 backend.
        AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION=f"https://s3.{REGION}.amazonaws.com",
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        NODE_NO_WARNINGS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


@contextlib.contextmanager
def process_env(env: Mapping[str, str]) -> Iterator[None]:
    """This process's environment replaced by ``env`` (boto3 and the proxy read it), restored afterwards."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def cdk(args: list[str], env: Mapping[str, str], out_dir: Path, log_name: str, timeout_s: float = 600) -> str:
    """Run the project's pinned CDK CLI; its output goes to <out_dir>/<log_name>.log.

    The CLI runs in its own process group (it starts the app's Python in turn): on any failure or interrupt
    the whole group is stopped, so nothing it started outlives the rehearsal.
    """
    command = [str(CDK), *args, "--no-notices", "--no-color", "--ci", "--output", str(out_dir / "cdk.out")]
    log = out_dir / f"{log_name}.log"
    with log.open("w") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        finally:
            stop_group(process)
    text = log.read_text()
    if returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise RehearsalError(f"cdk {args[0]} exited {returncode} (full log: {log}):\n{tail}")
    return text


def stop_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL, to a process group started with start_new_session (no-op once it is gone)."""
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            process.poll()  # reap the leader so the group can disappear
            time.sleep(0.05)
        else:
            continue
        break
    process.poll()


def context_flags(context: Mapping[str, str]) -> list[str]:
    return [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]


# ------------------------------------------------------------------------------------------- the stack


@dataclass
class Deployed:
    """What the stack holds, read back through the emulator's APIs."""

    template: dict[str, Any]
    physical: dict[str, str]  # logical id -> physical id
    types: dict[str, str]  # logical id -> resource type
    outputs: dict[str, str]

    def template_default_max_new_tokens(self) -> int:
        for resource in self.template["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                return int(resource["Properties"]["Environment"]["Variables"]["DEFAULT_MAX_NEW_TOKENS"])
        raise RehearsalError("no Lambda function in the template")

    def ids(self, resource_type: str) -> list[str]:
        return sorted(self.physical[k] for k, t in self.types.items() if t == resource_type)

    def one(self, resource_type: str) -> str:
        ids = self.ids(resource_type)
        check(len(ids) == 1, f"expected one {resource_type}, the stack has {ids}")
        return ids[0]

    def by_path(self, path_part: str, resource_type: str) -> str:
        """The physical id of the resource of that type whose CDK path contains ``path_part``."""
        matches = [
            self.physical[k]
            for k, t in self.types.items()
            if t == resource_type
            and path_part in self.template["Resources"][k].get("Metadata", {}).get("aws:cdk:path", "")
        ]
        check(len(matches) == 1, f"expected one {resource_type} under {path_part!r}, found {matches}")
        return matches[0]


def read_stack(clients: Clients) -> Deployed:
    cfn = clients.cfn
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    template = cfn.get_template(StackName=STACK)["TemplateBody"]
    if isinstance(template, str):
        template = json.loads(template)
    physical: dict[str, str] = {}
    types: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=STACK):
        for summary in page["StackResourceSummaries"]:
            logical = summary.get("LogicalResourceId", "")
            if logical:
                physical[logical] = summary.get("PhysicalResourceId", "")
                types[logical] = summary["ResourceType"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    return Deployed(template, physical, types, outputs)


@dataclass
class Clients:
    cfn: Any
    ec2: Any
    iam: Any
    lam: Any
    logs: Any
    s3: Any
    sagemaker: Any

    @classmethod
    def create(cls) -> Clients:
        session = boto3.Session()
        names = {
            "cfn": "cloudformation",
            "ec2": "ec2",
            "iam": "iam",
            "lam": "lambda",
            "logs": "logs",
            "s3": "s3",
            "sagemaker": "sagemaker",
        }
        return cls(**{attr: session.client(service) for attr, service in names.items()})


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def verify_deployment(clients: Clients, deployed: Deployed, outputs_file: Path) -> str:
    """Every template resource exists in the emulator, and each is wired to the stack's other resources."""
    template_types = {k: v["Type"] for k, v in deployed.template["Resources"].items()}
    for logical, resource_type in template_types.items():
        if resource_type in NOT_EMULATED:
            continue
        check(logical in deployed.physical, f"{logical} ({resource_type}) is not in the stack's resources")

    # Outputs: the file the CLI wrote and the stack's own.
    check(outputs_file.exists(), f"cdk deploy wrote no {outputs_file}")
    written = json.loads(outputs_file.read_text()).get(STACK, {})
    for key in ("InvokeUrl", "EndpointName", "Region", "InvokeCommand"):
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
    check([v["ModelName"] for v in variants] == [model_name], f"endpoint config variants {variants}")
    check(variants[0]["InstanceType"] == "ml.g5.2xlarge", f"instance type {variants[0]['InstanceType']}")
    endpoint_name = written["EndpointName"]
    endpoint = sm.describe_endpoint(EndpointName=endpoint_name)
    check(endpoint["EndpointConfigName"] == config_name, "the endpoint does not use the stack's config")
    check(endpoint["EndpointStatus"] == "InService", f"endpoint status {endpoint['EndpointStatus']}")
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
    check(fconfig["Handler"] == "invoke_proxy.handler.handler", f"handler {fconfig['Handler']}")
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
    check_code_is_the_asset(clients, deployed, fconfig)
    url = lam.get_function_url_config(FunctionName=function_name)
    check(
        url["FunctionUrl"].rstrip("/") == written["InvokeUrl"].rstrip("/"),
        "InvokeUrl is not the function's URL",
    )
    check(url["AuthType"] == "AWS_IAM", f"function URL auth {url['AuthType']}")

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
        [_as_list(s["Resource"]) for s in invoke] == [[endpoint["EndpointArn"]]],
        f"the proxy may invoke {[s['Resource'] for s in invoke]}, not exactly {endpoint['EndpointArn']}",
    )
    unchecked = "" if logging_config is not None else "; moto returns no LoggingConfig for the proxy"
    return (
        f"{len(deployed.physical)} of {len(template_types)} resources exist and are wired "
        f"(not emulated: {', '.join(sorted(NOT_EMULATED))}{unchecked}); endpoint {endpoint_name}"
    )


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def asset_zip(clients: Clients, deployed: Deployed) -> bytes:
    """The proxy's code as the CLI published it to the bootstrap bucket (the key the template names)."""
    logical = next(k for k, t in deployed.types.items() if t == "AWS::Lambda::Function")
    code = deployed.template["Resources"][logical]["Properties"]["Code"]
    bucket = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
    return bytes(clients.s3.get_object(Bucket=bucket, Key=code["S3Key"])["Body"].read())


def unpack_function_code(clients: Clients, deployed: Deployed, target: Path) -> Path:
    zipfile.ZipFile(io.BytesIO(asset_zip(clients, deployed))).extractall(target)
    return target


def check_code_is_the_asset(clients: Clients, deployed: Deployed, fconfig: Mapping[str, Any]) -> None:
    """The function's code is the zip the CLI published to the bootstrap bucket, and holds the proxy."""
    data = asset_zip(clients, deployed)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    check(fconfig["CodeSha256"] == digest, "the function's code is not the published asset")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    check("invoke_proxy/handler.py" in names, f"the asset has no invoke_proxy/handler.py: {names[:10]}")


# ----------------------------------------------------------------------------------------------- invoke


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 89_000


def function_url_event(url: str, method: str, path: str, body: object | None) -> dict[str, Any]:
    """A function URL request (payload format 2.0), as Lambda delivers it after SigV4 authentication."""
    domain = url.split("://", 1)[-1].rstrip("/")
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": domain, "user-agent": "rehearsal"},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": domain.split(".", 1)[0],
            "authorizer": {
                "iam": {"accountId": ACCOUNT, "userArn": f"arn:aws:iam::{ACCOUNT}:user/rehearsal"}
            },
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "rehearsal",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def tgi_answer(text: str, generated_tokens: int) -> str:
    """TGI 1.1's answer to a request with ``details: true`` (the proxy always asks for details)."""
    details = {"finish_reason": "eos_token", "generated_tokens": generated_tokens}
    return json.dumps([{"generated_text": text, "details": details}])


def invoke_proxy(
    emulator: Emulator, clients: Clients, deployed: Deployed, expect_max_new_tokens: int, out_dir: Path
) -> str:
    """Load the proxy's handler with the deployed function's environment and call it like Lambda would; the
    SageMaker runtime it calls is the emulator's, answering queued TGI responses."""
    function_name = deployed.one("AWS::Lambda::Function")
    fconfig = clients.lam.get_function_configuration(FunctionName=function_name)
    variables = fconfig.get("Environment", {}).get("Variables", {})
    endpoint_name = deployed.outputs["EndpointName"]
    url = deployed.outputs["InvokeUrl"]

    code_root = unpack_function_code(clients, deployed, out_dir / f"function-code-{uuid.uuid4().hex[:8]}")
    sys.path.insert(0, str(code_root))  # the deployed code, unpacked from the published asset, as Lambda does
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append({"EndpointName": params["EndpointName"], "Body": json.loads(params["Body"])})

    try:
        with process_env({**os.environ, **variables, "AWS_LAMBDA_FUNCTION_NAME": function_name}):
            # The proxy creates its client from boto3's default session at import: watch its calls there.
            boto3.setup_default_session()
            assert boto3.DEFAULT_SESSION is not None
            boto3.DEFAULT_SESSION.events.register(
                "provide-client-params.sagemaker-runtime.InvokeEndpoint", record
            )
            for name in [m for m in sys.modules if m == "invoke_proxy" or m.startswith("invoke_proxy.")]:
                del sys.modules[name]  # the configuration is read at import: import the deployed code afresh
            module = importlib.import_module("invoke_proxy.handler")
            check(
                Path(module.__file__ or "").is_relative_to(code_root),
                f"imported {module.__file__}, not the asset",
            )
            context = LambdaContext(function_name, fconfig["FunctionArn"])
            emulator.queue_sagemaker_answers([tgi_answer(" Paris.", 3), tgi_answer(" Bonjour !", 4)])
            health = module.handler(function_url_event(url, "GET", "/health", None), context)
            generate = module.handler(
                function_url_event(url, "POST", "/generate", {"inputs": "The capital of France is"}), context
            )
            chat = module.handler(
                function_url_event(
                    url, "POST", "/chat", {"messages": [{"role": "user", "content": "Say hello in French."}]}
                ),
                context,
            )
    finally:
        sys.path.remove(str(code_root))
        boto3.DEFAULT_SESSION = None

    for name, answer in (("GET /health", health), ("POST /generate", generate), ("POST /chat", chat)):
        check(
            answer.get("statusCode") == 200,
            f"{name} answered {answer.get('statusCode')}: {answer.get('body')}",
        )
    check(json.loads(health["body"]).get("endpoint_name") == endpoint_name, f"/health: {health['body']}")
    check(json.loads(generate["body"]).get("generated_text") == " Paris.", f"/generate: {generate['body']}")
    check("Bonjour" in chat["body"], f"/chat: {chat['body']}")
    check(len(sent) == 2, f"expected 2 InvokeEndpoint calls, saw {len(sent)}")
    check(
        {s["EndpointName"] for s in sent} == {endpoint_name}, f"the proxy called {sent[0]['EndpointName']!r}"
    )
    clients.sagemaker.describe_endpoint(EndpointName=sent[0]["EndpointName"])  # the endpoint it called exists
    tokens = [s["Body"].get("parameters", {}).get("max_new_tokens") for s in sent]
    check(
        tokens == [expect_max_new_tokens] * 2,
        f"max_new_tokens sent {tokens}, deployed default {expect_max_new_tokens}",
    )
    check(
        "[INST]" in sent[1]["Body"]["inputs"],
        f"the chat prompt is not in Mistral's format: {sent[1]['Body']}",
    )
    return (
        f"health, generate, chat answered 200 through {endpoint_name}; max_new_tokens {expect_max_new_tokens}"
    )


# ------------------------------------------------------------------------------------ update, teardown


def verify_update(clients: Clients, before: Deployed, after: Deployed) -> str:
    function = clients.lam.get_function_configuration(FunctionName=after.one("AWS::Lambda::Function"))
    env = function["Environment"]["Variables"]
    check(
        env["DEFAULT_MAX_NEW_TOKENS"] == UPDATE_CONTEXT["defaultMaxNewTokens"],
        f"proxy env after update {env}",
    )
    model_name = after.one("AWS::SageMaker::Model").rsplit("/", 1)[-1]
    container_env = clients.sagemaker.describe_model(ModelName=model_name)["PrimaryContainer"]["Environment"]
    check(
        container_env.get("MAX_CONCURRENT_REQUESTS") == UPDATE_CONTEXT["maxConcurrentRequests"],
        f"container environment after update {container_env}",
    )
    endpoint = clients.sagemaker.describe_endpoint(EndpointName=after.outputs["EndpointName"])
    config_name = after.one("AWS::SageMaker::EndpointConfig").rsplit("/", 1)[-1]
    check(endpoint["EndpointConfigName"] == config_name, "the endpoint does not use the new config")
    check(after.outputs == before.outputs, f"outputs changed on update: {before.outputs} -> {after.outputs}")
    replaced = sorted(
        logical for logical, pid in after.physical.items() if before.physical.get(logical) not in (None, pid)
    )
    models = [m["ModelName"] for m in every(clients.sagemaker, "list_models", "Models")]
    check(models == [model_name], f"models after update: {models} (the replaced one should be gone)")
    configs = [
        c["EndpointConfigName"] for c in every(clients.sagemaker, "list_endpoint_configs", "EndpointConfigs")
    ]
    check(
        configs == [config_name],
        f"endpoint configs after update: {configs} (the replaced one should be gone)",
    )
    return f"replaced {', '.join(replaced) or 'nothing'}; proxy and container settings applied"


# Resource type -> the inventory kind whose ids are that type's physical ids.
INVENTORIED = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::RouteTable": "route table",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::FlowLog": "flow log",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::IAM::Role": "role",
    "AWS::IAM::ManagedPolicy": "managed policy",
    "AWS::Lambda::Function": "function",
    "AWS::Lambda::Url": "function URL",
    "AWS::Logs::LogGroup": "log group",
    "AWS::SageMaker::Model": "SageMaker model",
    "AWS::SageMaker::EndpointConfig": "endpoint config",
    "AWS::SageMaker::Endpoint": "endpoint",
}


def every(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """All items of a list/describe call, page after page (boto3's paginator; every call used here has one)."""
    check(client.can_paginate(operation), f"{operation} has no paginator: it would read only one page")
    return [item for page in client.get_paginator(operation).paginate(**params) for item in page[key]]


def inventory(clients: Clients) -> dict[str, set[str]]:
    """Every resource of the kinds the stack creates that the emulator holds, as physical ids."""
    ec2, sm, lam = clients.ec2, clients.sagemaker, clients.lam
    functions = every(lam, "list_functions", "Functions")
    urls = set()
    for function in functions:
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.get_function_url_config(FunctionName=function["FunctionName"])
            urls.add(function["FunctionArn"])
    return {
        "stack": {
            s["StackName"]
            for s in every(clients.cfn, "list_stacks", "StackSummaries")
            if s["StackStatus"] != "DELETE_COMPLETE"
        },
        "VPC": {v["VpcId"] for v in every(ec2, "describe_vpcs", "Vpcs")},
        "subnet": {s["SubnetId"] for s in every(ec2, "describe_subnets", "Subnets")},
        "route table": {t["RouteTableId"] for t in every(ec2, "describe_route_tables", "RouteTables")},
        # EC2 lists a deleted endpoint for a while, in state "deleted".
        "VPC endpoint": {
            e["VpcEndpointId"]
            for e in every(ec2, "describe_vpc_endpoints", "VpcEndpoints")
            if e["State"].lower() != "deleted"
        },
        "flow log": {f["FlowLogId"] for f in every(ec2, "describe_flow_logs", "FlowLogs")},
        "security group": {g["GroupId"] for g in every(ec2, "describe_security_groups", "SecurityGroups")},
        "role": {r["RoleName"] for r in every(clients.iam, "list_roles", "Roles")},
        "managed policy": {p["Arn"] for p in every(clients.iam, "list_policies", "Policies", Scope="Local")},
        "function": {f["FunctionName"] for f in functions},
        "function URL": urls,
        "log group": {g["logGroupName"] for g in every(clients.logs, "describe_log_groups", "logGroups")},
        "SageMaker model": {m["ModelArn"] for m in every(sm, "list_models", "Models")},
        "endpoint config": {
            c["EndpointConfigArn"] for c in every(sm, "list_endpoint_configs", "EndpointConfigs")
        },
        "endpoint": {e["EndpointArn"] for e in every(sm, "list_endpoints", "Endpoints")},
    }


def added(now: Mapping[str, set[str]], baseline: Mapping[str, set[str]]) -> dict[str, set[str]]:
    return {
        kind: ids - baseline.get(kind, set()) for kind, ids in now.items() if ids - baseline.get(kind, set())
    }


def check_inventory_sees(deployed: Deployed, now: Mapping[str, set[str]]) -> None:
    """Each of the stack's resources shows in the inventory, so an empty inventory after destroy means gone."""
    for logical, resource_type in deployed.types.items():
        kind = INVENTORIED.get(resource_type)
        if kind is not None:
            physical = deployed.physical[logical]
            check(physical in now[kind], f"{logical}: {physical} is not among the {kind}s the emulator lists")


# ------------------------------------------------------------------------------------------------ phases


@dataclass
class Rehearsal:
    emulator: Emulator
    home: Path
    out: Path
    env: dict[str, str] = field(default_factory=dict)
    clients: Clients | None = None
    deployed: Deployed | None = None
    updated: Deployed | None = None
    baseline: dict[str, set[str]] = field(default_factory=dict)  # what the emulator holds after bootstrap

    @property
    def outputs_file(self) -> Path:
        return self.out / "outputs.json"

    def phase_emulator(self) -> str:
        import moto

        self.emulator.start()
        self.env = aws_env(self.emulator.url, self.home)
        assert self.emulator.process is not None
        return f"moto {moto.__version__} with corrections on {self.emulator.url}, pid {self.emulator.process.pid}"

    def phase_bootstrap(self) -> str:
        cdk(["bootstrap", f"aws://{ACCOUNT}/{REGION}", *SYNTH_FLAGS], self.env, self.out, "1-bootstrap")
        with process_env(self.env):
            self.clients = Clients.create()
            status = self.clients.cfn.describe_stacks(StackName="CDKToolkit")["Stacks"][0]["StackStatus"]
            self.baseline = inventory(self.clients)
        check(status == "CREATE_COMPLETE", f"CDKToolkit {status}")
        return "CDKToolkit CREATE_COMPLETE"

    def deploy(self, flags: Sequence[str], log_name: str) -> None:
        """`cdk deploy` with the outputs file; the old file goes first, so what is checked is what it wrote."""
        self.outputs_file.unlink(missing_ok=True)
        cdk(
            [
                "deploy",
                STACK,
                *flags,
                "--require-approval",
                "never",
                "--outputs-file",
                str(self.outputs_file),
            ],
            self.env,
            self.out,
            log_name,
        )

    def phase_deploy(self) -> str:
        self.deploy(SYNTH_FLAGS, "2-deploy")
        assert self.clients is not None
        with process_env(self.env):
            self.deployed = read_stack(self.clients)
            check_inventory_sees(self.deployed, inventory(self.clients))
            return verify_deployment(self.clients, self.deployed, self.outputs_file)

    def phase_invoke(self) -> str:
        assert self.clients is not None and self.deployed is not None
        with process_env(self.env):
            default = self.deployed.template_default_max_new_tokens()
            return invoke_proxy(self.emulator, self.clients, self.deployed, default, self.out)

    def phase_update(self) -> str:
        assert self.clients is not None and self.deployed is not None
        flags = [*SYNTH_FLAGS, *context_flags(UPDATE_CONTEXT)]
        self.deploy(flags, "3-update")
        with process_env(self.env):
            self.updated = read_stack(self.clients)
            verify_deployment(self.clients, self.updated, self.outputs_file)
            summary = verify_update(self.clients, self.deployed, self.updated)
            new_default = int(UPDATE_CONTEXT["defaultMaxNewTokens"])
            invoke_proxy(self.emulator, self.clients, self.updated, new_default, self.out)
        return summary + "; the proxy sends the new default"

    def phase_destroy(self) -> str:
        assert self.clients is not None and self.updated is not None
        with process_env(self.env):
            check_inventory_sees(self.updated, inventory(self.clients))
        cdk(["destroy", STACK, *SYNTH_FLAGS, "--force"], self.env, self.out, "4-destroy")
        with process_env(self.env):
            remaining = added(inventory(self.clients), self.baseline)
        check(
            not remaining,
            "left after destroy: "
            + "; ".join(f"{kind}: {', '.join(sorted(ids))}" for kind, ids in remaining.items()),
        )
        return f"the emulator holds what it held after bootstrap; none of the stack's {len(self.updated.physical)} resources remains"

    def phase_stop(self) -> str:
        port, process = self.emulator.port, self.emulator.process
        self.emulator.stop()
        check(process is not None and process.poll() is not None, "the emulator process is still running")
        check(not port_is_open(port), f"something still listens on 127.0.0.1:{port}")
        return f"emulator stopped; nothing listens on 127.0.0.1:{port}"


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="where logs, the cloud assembly and outputs.json go (emptied first; default: rehearsal.out/)",
    )
    out: Path = parser.parse_args(argv).out.resolve()
    # SIGTERM (CI cancelling the job) stops the emulator the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    check(CDK.exists(), f"{CDK} is missing: run `make setup`")
    started = time.monotonic()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    home = Path(tempfile.mkdtemp(prefix="rehearsal-home-"))
    rehearsal = Rehearsal(Emulator(out / "moto.log"), home, out)
    phases: list[tuple[str, Callable[[], str]]] = [
        ("emulator", rehearsal.phase_emulator),
        ("bootstrap", rehearsal.phase_bootstrap),
        ("deploy", rehearsal.phase_deploy),
        ("invoke", rehearsal.phase_invoke),
        ("update", rehearsal.phase_update),
        ("destroy", rehearsal.phase_destroy),
        ("stop", rehearsal.phase_stop),
    ]
    passed = 0
    failure = ""
    try:
        for number, (name, run) in enumerate(phases, 1):
            phase_started = time.monotonic()
            print(f"[{number}/{len(phases)}] {name} ...", flush=True)
            try:
                detail = run()
            except RehearsalError as exc:
                failure = f"{name}: {exc}"
                print(f"[{number}/{len(phases)}] {name} FAILED: {exc}", flush=True)
                break
            except Exception as exc:
                failure = f"{name}: {type(exc).__name__}: {exc}"
                print(f"[{number}/{len(phases)}] {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
                break
            passed += 1
            print(
                f"[{number}/{len(phases)}] {name} ok ({time.monotonic() - phase_started:.1f} s): {detail}",
                flush=True,
            )
    except KeyboardInterrupt:
        failure = "interrupted"
        print("interrupted: stopping the emulator", flush=True)
    finally:
        rehearsal.emulator.stop()
        shutil.rmtree(home, ignore_errors=True)
    seconds = time.monotonic() - started
    if passed == len(phases):
        print(f"rehearsal: {passed}/{len(phases)} phases passed in {seconds:.1f} s", flush=True)
        return 0
    print(
        f"rehearsal: FAILED ({failure.splitlines()[0] if failure else 'unknown'}); {passed}/{len(phases)} phases passed in {seconds:.1f} s; logs in {out}",
        flush=True,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
