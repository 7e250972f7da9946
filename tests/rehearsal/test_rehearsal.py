"""The whole deploy rehearsal (scripts/rehearse.py), run as `make rehearse` runs it: every phase passes, the
summary is the last line, and no emulator is left running, also when the rehearsal is interrupted."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "rehearse.py"
SUMMARY = re.compile(r"^rehearsal: (\d+)/(\d+) phases passed in ([0-9.]+) s$")
EMULATOR_URL = re.compile(r"on http://127\.0\.0\.1:(\d+)")

pytestmark = pytest.mark.slow


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def emulators_on(port: int) -> list[str]:
    """Command lines of rehearsal emulators serving ``port`` (from /proc; other rehearsals may run meanwhile)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"moto_corrections.py") for arg in args) and str(port).encode() in args:
            found.append(b" ".join(args).decode(errors="replace"))
    return found


def rehearsal_env() -> dict[str, str]:
    # No AWS settings from the machine or the test session reach the rehearsal.
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def test_the_rehearsal_passes_and_leaves_nothing_running(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "rehearsal.out")],
        cwd=ROOT,
        env=rehearsal_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    summary = SUMMARY.match(lines[-1])
    assert summary is not None, lines[-1]
    assert summary.group(1) == summary.group(2)
    port = EMULATOR_URL.search(result.stdout)
    assert port is not None
    assert not listening(int(port.group(1)))
    assert emulators_on(int(port.group(1))) == []


def test_an_interrupted_rehearsal_stops_its_emulator(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path / "rehearsal.out")],
        cwd=ROOT,
        env=rehearsal_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    output = []
    deadline = time.monotonic() + 120
    for line in process.stdout:  # interrupt once the emulator is up and the CDK CLI is running
        output.append(line)
        if line.startswith("[2/") or time.monotonic() > deadline:
            break
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    output.append(rest)
    text = "".join(output)
    assert process.returncode == 1, text
    assert text.strip().splitlines()[-1].startswith("rehearsal: FAILED (interrupted)"), text
    port = EMULATOR_URL.search(text)
    assert port is not None, text
    assert not listening(int(port.group(1)))
    assert emulators_on(int(port.group(1))) == []
