"""`python app.py`, the process `cdk synth` starts, ends sooner and leaves nothing behind (stacks/app_process.py).

The app builds CDK's CloudFormation validation engine on a thread while Python imports the project, stops jsii's
Node process with SIGTERM rather than waiting for V8, and runs in a temporary directory of its own. These tests
hold what that relies on (no call into Node while importing) and what it must keep: the same cloud assembly, the
kernel's output from the last call on stderr, no process and no file left, interrupted or not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import aws_cdk as cdk
import pytest
from synth_helpers import CDK_JSON_CONTEXT, REPO, new_app, template_of

from stacks import app_process

pytestmark = pytest.mark.slow

ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env={**ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )


def test_importing_the_project_makes_no_call_into_node() -> None:
    """The engine's thread owns jsii's one pipe until it is built: the main thread may only import meanwhile."""
    result = _python(
        """
        import importlib, pkgutil, sys
        sys.path.insert(0, ".")
        import aws_cdk
        from jsii._kernel.providers import process
        calls = []
        send = process._NodeProcess.send
        process._NodeProcess.send = lambda self, request, *rest: calls.append(request) or send(self, request, *rest)
        import mistral_endpoint, stacks
        for package in (mistral_endpoint, stacks):
            for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                if "._lambda." not in module.name:  # the proxy's runtime: no CDK
                    importlib.import_module(module.name)
        import app
        print("calls:", [type(call).__name__ for call in calls])
        """
    )
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().splitlines()[-1] == "calls: []"


def _processes_with(marker: str) -> list[str]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(environ.parent.name)
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds leftover processes through /proc")
def test_app_py_writes_what_a_plain_synth_writes_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Also: jsii's Node gets V8's pool sized to the machine, after the caller's own NODE_OPTIONS (the same run,
    as a synth costs seconds)."""
    tmp, out, marker = tmp_path / "tmp", tmp_path / "out", str(uuid.uuid4())
    tmp.mkdir()
    context = {**CDK_JSON_CONTEXT, "aws:cdk:version-reporting": False}
    node, node_options = tmp_path / "node", tmp_path / "node-options"
    node.write_text(f'#!/bin/sh\nprintf "%s\\n" "$NODE_OPTIONS" >> "{node_options}"\nexec node "$@"\n')
    node.chmod(0o755)
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        env={
            **ENV,
            "TMPDIR": str(tmp),
            "CDK_OUTDIR": str(out),
            "CDK_CONTEXT_JSON": json.dumps(context),
            "MISTRAL_TEST_MARKER": marker,
            "JSII_NODE": str(node),  # jsii starts its Node process through this script
            "NODE_OPTIONS": "--max-old-space-size=3072",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    template = json.loads((out / "MistralEndpointStack.template.json").read_text())
    assert template == template_of("default")
    report = json.loads((out / "validation-report.json").read_text())
    assert {r["pluginName"]: r["conclusion"] for r in report["pluginReports"]} == {
        "AwsSolutions": "success",
        "HIPAA.Security": "success",
        "NIST.800.53.R5": "success",
    }
    assert list(tmp.iterdir()) == []  # the process's own directory, jsii's kernel directory in it, removed
    assert _processes_with(marker) == []  # both of jsii's Node processes gone
    pool = app_process.v8_pool_size(app_process.available_cpus())
    assert node_options.read_text().splitlines() == [f"--max-old-space-size=3072 --v8-pool-size={pool}"]


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds leftover processes through /proc")
@pytest.mark.parametrize(
    ("signal_number", "after_s"),
    [(signal.SIGINT, 0.5), (signal.SIGINT, 2.5), (signal.SIGTERM, 0.5), (signal.SIGTERM, 2.5)],
    ids=[
        "ctrl-c-while-importing",
        "ctrl-c-while-building",
        "sigterm-while-importing",
        "sigterm-while-building",
    ],
)
def test_an_interrupted_app_py_leaves_nothing_behind(
    tmp_path: Path, signal_number: int, after_s: float
) -> None:
    """Ctrl-C in a terminal, or SIGTERM from a cancelled CI job, reaches the app and both Node processes."""
    tmp, marker = tmp_path / "tmp", str(uuid.uuid4())
    tmp.mkdir()
    app = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO,
        env={**ENV, "TMPDIR": str(tmp), "CDK_OUTDIR": str(tmp_path / "out"), "MISTRAL_TEST_MARKER": marker},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(after_s)
    if app.poll() is not None:  # a machine fast enough to finish first: nothing left to interrupt
        pytest.skip(f"app.py finished within {after_s} s")
    os.killpg(app.pid, signal_number)
    assert app.wait(timeout=60) != 0
    assert list(tmp.iterdir()) == []
    assert _processes_with(marker) == []


def test_a_registered_engine_replaces_the_built_in_one_and_still_refuses_a_bad_template() -> None:
    app = new_app()
    cdk.Validations.of(app).add_plugins(cdk.CloudFormationValidatePlugin())
    stack = cdk.Stack(app, "Bad")
    cdk.CfnResource(stack, "Topic", type="AWS::SNS::Topic", properties={"TopicNameTypo": "x"})
    with pytest.raises(Exception, match="TopicNameTypo") as refused:
        app.synth()
    assert str(refused.value).count("(CloudFormation Validate)") == 1


def test_no_engine_is_built_when_cdk_validation_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(app_process.VALIDATION_SWITCH, "false")
    assert app_process._start_validation_engine().result() is None


def test_stopping_the_kernel_keeps_what_it_wrote_during_the_last_call(tmp_path: Path) -> None:
    """SIGTERM, then jsii's own stop: a warning the kernel printed while answering the last call still reaches
    stderr, before the program goes on. (A killed kernel leaves its directory behind: AppProcess's TMPDIR takes
    it; here pytest's does.)"""
    result = _python(
        """
        import sys
        sys.path.insert(0, ".")
        import aws_cdk
        from stacks.app_process import stop_kernel
        aws_cdk.SecretValue.plain_text("x")  # deprecated: aws-cdk-lib's kernel prints a warning on stderr
        stopped = stop_kernel()
        print("stopped", stopped)
        """,
        TMPDIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[-1] == "stopped True"
    assert any("SecretValue#plainText is deprecated" in line for line in lines[:-1]), result.stdout


def test_main_registers_the_engine_after_the_packs_as_aws_cdk_lib_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The built-in engine comes after the packs in the report; the registered one keeps that place."""
    import app as app_module

    registered: list[list[object]] = []
    of = cdk.Validations.of

    class Recorder:  # Validations.of(scope) as it is, but plugins recorded rather than registered
        def __init__(self, scope: object) -> None:
            self.validations = of(scope)  # type: ignore[arg-type]

        def __getattr__(self, name: str) -> object:
            return getattr(self.validations, name)

        def add_plugins(self, *plugins: object) -> None:
            registered.append([getattr(p, "name", p) for p in plugins])

    monkeypatch.setattr(cdk.Validations, "of", staticmethod(Recorder))
    monkeypatch.setattr(cdk.App, "synth", lambda self, *args, **kwargs: None)
    engine = object()
    assert app_module.main(new_app(), validation_engine=engine) == 0  # type: ignore[arg-type]
    assert registered == [["AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"], [engine]]
