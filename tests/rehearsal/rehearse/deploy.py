"""Bootstrap, deploy and destroy: the project's pinned CDK CLI, with everything pointed at the emulator."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from .common import REGION, ROOT, RehearsalError, stop_group

CDK = ROOT / "node_modules" / ".bin" / "cdk"

# Synthesis flags for every CDK command. compliance=off skips the cdk-nag packs: they only validate (the
# template is the same), and `make synth` / `make test` already run them.
SYNTH_FLAGS = ("-c", f"region={REGION}", "-c", "compliance=off")


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


def context_flags(context: Mapping[str, str]) -> list[str]:
    return [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]
