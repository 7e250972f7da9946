"""What every phase shares: the stack it deploys and where, how a check fails, and stopping child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]

STACK = "MistralEndpointStack"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"


class RehearsalError(AssertionError):
    """A rehearsal check failed."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise RehearsalError(message)


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
