"""Deploy rehearsal: cdk bootstrap, deploy, invoke, update and destroy against a local AWS emulator, then a
deploy, wake-up and destroy of the scale-to-zero variant, then of the private front door variant.

The phases in order, each timed and reported on one line, then a one-line summary: the last line of the output;
the exit status is 0 only if every phase passed. The emulator is stopped in every case (failure, Ctrl-C,
SIGTERM).

Usage: make rehearse   (or .venv/bin/python tests/rehearsal [--out DIR])
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from .common import ACCOUNT, REGION, ROOT, STACK, RehearsalError, check
from .deploy import CDK, SYNTH_FLAGS, aws_env, cdk, context_flags, process_env
from .emulator import Emulator, port_is_open
from .inventory import added, check_inventory_sees, inventory
from .invoke import invoke_proxy
from .private_door import invoke_private_door
from .stack import Clients, Deployed, read_stack
from .update import UPDATE_CONTEXT, scale_out, verify_deployment_config, verify_update
from .wake import verify_wake
from .wiring import verify_deployment

DEFAULT_OUT = ROOT / "rehearsal.out"
# The second life of the stack: the model as an inference component that scales to zero.
ZERO_FLAGS = (*SYNTH_FLAGS, "-c", "scaleToZero=true")
# The third: the private REST API as the only door (no function URL).
PRIVATE_FLAGS = (*SYNTH_FLAGS, "-c", "frontDoor=private")
# Who the function URL's events name as the caller (invoke.function_url_event signs as this IAM user).
URL_CALLER = "user/rehearsal"


@dataclass
class Rehearsal:
    """What the phases hand on to each other; each ``phase_*`` method returns its one-line result."""

    emulator: Emulator
    home: Path
    out: Path
    env: dict[str, str] = field(default_factory=dict)
    clients: Clients | None = None
    deployed: Deployed | None = None
    updated: Deployed | None = None
    zero: Deployed | None = None  # the scale-to-zero deployment
    private: Deployed | None = None  # the private front door deployment
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
            return invoke_proxy(
                self.emulator, self.clients, self.deployed, default, self.out, expect_caller=URL_CALLER
            )

    def phase_update(self) -> str:
        assert self.clients is not None and self.deployed is not None
        flags = [*SYNTH_FLAGS, *context_flags(UPDATE_CONTEXT)]
        with process_env(self.env):
            scaled_to = scale_out(self.clients, self.deployed)
        self.deploy(flags, "3-update")
        with process_env(self.env):
            self.updated = read_stack(self.clients)
            verify_deployment(self.clients, self.updated, self.outputs_file)
            summary = verify_update(self.clients, self.deployed, self.updated)
            summary += "; " + verify_deployment_config(self.clients, self.deployed, self.updated, scaled_to)
            new_default = int(UPDATE_CONTEXT["defaultMaxNewTokens"])
            invoke_proxy(self.emulator, self.clients, self.updated, new_default, self.out)
        return summary + "; the proxy sends the new default"

    def destroy(self, deployed: Deployed, flags: Sequence[str], log_name: str) -> str:
        """`cdk destroy`, then the emulator must hold exactly what it held after bootstrap."""
        assert self.clients is not None
        with process_env(self.env):
            check_inventory_sees(deployed, inventory(self.clients))
        cdk(["destroy", STACK, *flags, "--force"], self.env, self.out, log_name)
        with process_env(self.env):
            remaining = added(inventory(self.clients), self.baseline)
        check(
            not remaining,
            "left after destroy: "
            + "; ".join(f"{kind}: {', '.join(sorted(ids))}" for kind, ids in remaining.items()),
        )
        return f"the emulator holds what it held after bootstrap; none of the stack's {len(deployed.physical)} resources remains"

    def phase_destroy(self) -> str:
        assert self.updated is not None
        return self.destroy(self.updated, SYNTH_FLAGS, "4-destroy")

    def phase_zero_deploy(self) -> str:
        """The same stack name again, now in scale-to-zero mode (the default stack is gone)."""
        self.deploy(ZERO_FLAGS, "5-deploy-scale-to-zero")
        assert self.clients is not None
        with process_env(self.env):
            self.zero = read_stack(self.clients)
            check_inventory_sees(self.zero, inventory(self.clients))
            return verify_deployment(self.clients, self.zero, self.outputs_file)

    def phase_wake(self) -> str:
        assert self.clients is not None and self.zero is not None
        with process_env(self.env):
            return verify_wake(self.emulator, self.clients, self.zero, self.out)

    def phase_zero_destroy(self) -> str:
        assert self.zero is not None
        return self.destroy(self.zero, ZERO_FLAGS, "6-destroy-scale-to-zero")

    def phase_private_deploy(self) -> str:
        """The same stack name a third time, with the private REST API as its only door."""
        self.deploy(PRIVATE_FLAGS, "7-deploy-private-door")
        assert self.clients is not None
        with process_env(self.env):
            self.private = read_stack(self.clients)
            check_inventory_sees(self.private, inventory(self.clients))
            return verify_deployment(self.clients, self.private, self.outputs_file)

    def phase_private_invoke(self) -> str:
        assert self.clients is not None and self.private is not None
        with process_env(self.env):
            default = self.private.template_default_max_new_tokens()
            return invoke_private_door(self.emulator, self.clients, self.private, default, self.out)

    def phase_private_destroy(self) -> str:
        assert self.private is not None
        return self.destroy(self.private, PRIVATE_FLAGS, "8-destroy-private-door")

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
        ("scale-to-zero deploy", rehearsal.phase_zero_deploy),
        ("wake", rehearsal.phase_wake),
        ("scale-to-zero destroy", rehearsal.phase_zero_destroy),
        ("private door deploy", rehearsal.phase_private_deploy),
        ("private door invoke", rehearsal.phase_private_invoke),
        ("private door destroy", rehearsal.phase_private_destroy),
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
