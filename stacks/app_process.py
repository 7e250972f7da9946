"""What `python app.py` (the process `cdk synth`, `diff` and `deploy` start) does around its synth to end sooner.

aws-cdk-lib runs in a Node process that jsii starts and talks to over one pipe. `AppProcess` takes four costs
out of the app's wall time, none of which changes what is synthesized or validated. They are measured in
docs/maintainers/development.md ("Synth speed").

- **CDK's CloudFormation validation engine.** aws-cdk-lib validates every template with
  `@aws/cloudformation-validate`, a WebAssembly engine that costs about 1.4 s of the Node process's time to build,
  and builds it when `app.synth()` starts (`pluginsToEvaluate` in aws-cdk-lib's
  `core/lib/private/synthesis-validation.js`). Before that, Python spends about 0.3 s importing the project while
  Node waits. `AppProcess` builds the engine on a thread during those imports (on 2 cores the imports compete
  with V8's compile threads, so it gains less than their 0.3 s), and `app.main` registers it with
  `Validations.of(app)`. A registered `CloudFormationValidatePlugin` takes the place of the built-in one
  (`hasUserRegisteredCloudFormationValidatePlugin`, same file) with the same default rules, so the report and the
  `validateAgainstDefaultRules` flag behave as before. jsii's kernel has one pipe and no lock: until
  `run` has the engine, the main thread may only import, and importing the project makes no call into
  Node (`tests/test_app_process.py` holds that).
- **The kernel's exit.** jsii ends its Node process with an exit message. Node's `process.exit` then waits for V8's
  background TurboFan compilation of that engine's WebAssembly: 0.3 to 0.6 s spent compiling code nothing will run
  (with V8's `--liftoff-only` the same stop takes 0.03 s). `AppProcess` sends SIGTERM instead: jsii's
  `jsii-runtime.js` forwards it to the kernel process, relays the kernel's remaining output and exits, and jsii's
  own stop then closes the pipes and removes its files. What the kernel printed while answering a call arrives;
  only what it would print after its last answer (`JSII_DEBUG`'s trace of that answer) can be cut short. A killed kernel does not run its exit hooks, and one of
  them removes its `jsii-kernel-*` directory under `os.tmpdir()`. So the process gets a temporary directory of its
  own (TMPDIR, set before jsii starts Node, which reads it) and removes it at the end. (A cloud assembly goes
  there too when nothing sets CDK_OUTDIR, as aws-cdk-lib then writes to a temporary directory; `cdk` always sets
  it.)
- **V8's pool of helper threads.** Node gives V8 4 helper threads unless told otherwise, and V8's garbage
  collector works on all of them at once. On 2 cores, those 4, Node's own thread and Python wait on each other
  while the engine is built. `AppProcess` adds `--v8-pool-size` to NODE_OPTIONS for jsii's Node: one thread fewer
  than the CPUs the process may use, at least 1 and at most Node's 4 (`with_v8_pool_sized`). A size already set there
  is kept. `--single-threaded-gc` gives the same gain, which is how the cause was found, but it is not among the
  V8 options NODE_OPTIONS allows.
- **Python's own exit.** With the assembly written and the kernel stopped, the interpreter would still spend 0.15
  to 0.2 s tearing down the 175 modules aws-cdk-lib's bindings bring in. `AppProcess.run` flushes stdout and
  stderr and ends the process with `os._exit` instead.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import aws_cdk as cdk

# aws-cdk-lib skips its built-in validation when this variable is "false" (`defaultValidationEnabled`, same file).
VALIDATION_SWITCH = "CDK_VALIDATION"
# Node reads its options from this variable too, so jsii's Node process gets them (Node's CLI documentation,
# "NODE_OPTIONS=options...": `--v8-pool-size` is one of the options it allows there).
NODE_OPTIONS = "NODE_OPTIONS"
V8_POOL_SIZE = "--v8-pool-size"
# Node's pool size unless told otherwise (`v8_thread_pool_size = 4` in Node's src/node_options.h; an idle `node`
# has 7 threads in /proc/PID/task, 4 with `--v8-pool-size=1`).
NODE_DEFAULT_V8_POOL = 4
CGROUP = Path("/sys/fs/cgroup")


def with_v8_pool_sized(node_options: str, cpus: int | None = None) -> str:
    """`node_options` with `--v8-pool-size` for this machine (or for `cpus`) added; as they are when they set a
    pool size already (Node takes `_` for `-` in option names, and the last of two sizes would win)."""
    if V8_POOL_SIZE in node_options.replace("_", "-"):
        return node_options
    size = v8_pool_size(available_cpus() if cpus is None else cpus)
    return f"{node_options} {V8_POOL_SIZE}={size}".strip()


def v8_pool_size(cpus: int) -> int:
    """V8's helper threads on `cpus` CPUs: one fewer, as Node's own thread needs one; at least 1, and never more
    than Node's default."""
    return max(1, min(NODE_DEFAULT_V8_POOL, cpus - 1))


def available_cpus(cgroup: Path = CGROUP) -> int:
    """The CPUs this process may use: those its affinity mask allows (sched_getaffinity(2)), fewer when its
    cgroup has a CPU quota, as a container started with a CPU limit has. Node 20's own estimate (libuv 1.46's
    `uv_available_parallelism`) reads the mask only, which in such a container can be every CPU of the host."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota(cgroup)
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def _cgroup_cpu_quota(cgroup: Path) -> float | None:
    """CPUs' worth of time the cgroup allows per period, None when unlimited or unknown. As a container sees its
    own cgroup at the root of the mount: cgroup v2's `cpu.max` ("$MAX $PERIOD", "max" when unlimited;
    Documentation/admin-guide/cgroup-v2.rst), else cgroup v1's `cpu.cfs_quota_us` over `cpu.cfs_period_us`
    (-1 when unlimited; Documentation/scheduler/sched-bwc.rst)."""
    try:
        maximum, period = (cgroup / "cpu.max").read_text().split()
        return None if maximum == "max" else int(maximum) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((cgroup / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((cgroup / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


class AppProcess:
    """Made before anything imports aws_cdk; then `run` the app (app.py's `__main__`)."""

    def __init__(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="mistral-synth-")
        # Also removed if the process ends before `run` does (an interrupt during the imports), and SIGTERM (a CI
        # job cancelled, the deploy rehearsal stopping the CLI) ends it as Ctrl-C does, not at once.
        atexit.register(shutil.rmtree, self.tmpdir, ignore_errors=True)
        signal.signal(signal.SIGTERM, _terminated)
        os.environ["TMPDIR"] = self.tmpdir
        tempfile.tempdir = None  # Python's own temporary files follow TMPDIR too
        os.environ[NODE_OPTIONS] = with_v8_pool_sized(
            os.environ.get(NODE_OPTIONS, "")
        )  # read when Node starts
        self._engine = _start_validation_engine()  # importing aws_cdk here starts jsii's Node process

    def run(self, app_main: Callable[[cdk.CloudFormationValidatePlugin | None], int]) -> NoReturn:
        """Wait for the engine (None when CDK_VALIDATION=false), then `app_main(engine)`: until the engine is
        built no other call may go to jsii's Node process. Then stop that process without waiting for it, remove
        the temporary directory and end with `app_main`'s status: output flushed, no interpreter teardown."""
        try:
            status = app_main(self._engine.result())
        finally:
            with suppress(TimeoutError):  # a call still in flight on the thread ends before the kernel stops
                self._engine.exception(timeout=30)
            stopped = stop_kernel()
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        if not stopped:  # jsii's kernel still runs: its own exit hook must stop it
            sys.exit(status)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _terminated(signal_number: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signal_number)


def _start_validation_engine() -> Future[cdk.CloudFormationValidatePlugin | None]:
    import aws_cdk as cdk

    engine: Future[cdk.CloudFormationValidatePlugin | None] = Future()
    if os.environ.get(VALIDATION_SWITCH) == "false":
        engine.set_result(None)
        return engine

    def build() -> None:
        try:
            engine.set_result(cdk.CloudFormationValidatePlugin())
        except BaseException as error:  # handed to whoever waits for the engine
            engine.set_exception(error)

    # A daemon: an interrupt during the imports (the thread imports too: jsii's type checks) must not leave the
    # interpreter waiting for it at exit, as it would for a pool's worker.
    threading.Thread(target=build, name="cloudformation-validate", daemon=True).start()
    return engine


def stop_kernel() -> bool:
    """Stop jsii's Node process, on POSIX without waiting for V8's background compilation. False, doing nothing,
    when jsii's kernel is not laid out as this expects (a jsii release that changed it)."""
    from jsii._runtime import kernel  # jsii's process kernel: its layout is checked here, not assumed

    node = getattr(kernel.provider, "_process", None)
    process = getattr(node, "_process", None)
    if node is None or process is None or not callable(getattr(node, "stop", None)):
        return False  # jsii's exit message at interpreter exit, as without this module
    if os.name == "posix":
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdin is not None:
            process.stdin.close()  # jsii's stop then sends no exit message: nothing would read it
    atexit.unregister(node.stop)
    node.stop()  # jsii's own stop: the relayed output drained, the pipes closed, its files removed
    return True
