"""The whole deploy rehearsal (the ``rehearse`` package beside this file), run as `make rehearse` runs it: every
phase passes, the summary is the last line, and no emulator is left running, also when the rehearsal is
interrupted or killed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rehearse import emulator as emulator_module

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# What `make rehearse` runs: this folder, whose __main__.py starts the driver.
COMMAND = [sys.executable, str(HERE)]
SUMMARY = re.compile(r"^rehearsal: (\d+)/(\d+) phases passed in ([0-9.]+) s$")
EMULATOR = re.compile(r"on http://127\.0\.0\.1:(\d+), pid (\d+)")


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def emulator_running(pid: int) -> bool:
    """Whether process ``pid`` is alive and is a rehearsal emulator (not a zombie, not a reused pid)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(arg.endswith(b"moto_corrections.py") for arg in args)


def emulator_of(output: str) -> tuple[int, int]:
    """The emulator's port and pid, as the rehearsal's first phase reports them."""
    found = EMULATOR.search(output)
    assert found is not None, output
    return int(found.group(1)), int(found.group(2))


def rehearsal_env() -> dict[str, str]:
    # No AWS settings from the machine or the test session reach the rehearsal.
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


@pytest.mark.slow
def test_the_rehearsal_passes_and_leaves_nothing_running(tmp_path: Path) -> None:
    result = subprocess.run(
        [*COMMAND, "--out", str(tmp_path / "rehearsal.out")],
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
    port, pid = emulator_of(result.stdout)
    assert not emulator_running(pid)
    assert not listening(port)


@pytest.mark.slow
def test_an_interrupted_rehearsal_stops_its_emulator(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*COMMAND, "--out", str(tmp_path / "rehearsal.out")],
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
    port, pid = emulator_of(text)
    assert not emulator_running(pid), f"the emulator (pid {pid}) outlived the interrupted rehearsal"
    assert not listening(port)


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_emulator_exits_when_the_rehearsal_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the rehearsal no chance to stop its emulator (in its own session): the emulator sees its
    parent go and exits by itself."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pathlib, sys, time
                sys.path.insert(0, {str(HERE)!r})
                from rehearse.emulator import Emulator
                emulator = Emulator(pathlib.Path({str(tmp_path / "moto.log")!r}))
                emulator.start()
                print(emulator.port, emulator.process.pid, flush=True)
                time.sleep(120)
                """
            ),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    port, pid = (int(word) for word in line.split())
    try:
        assert emulator_running(pid) and listening(port), line
        parent.kill()
        parent.wait(timeout=10)
        assert wait_until(lambda: not emulator_running(pid), 10), (
            f"the emulator (pid {pid}) outlived its killed parent"
        )
        assert not listening(port)
    finally:
        if emulator_running(pid):
            os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()


# A stand-in emulator: reports its port, writes far more than a pipe holds to stdout, and only then serves.
CHATTY_EMULATOR = """
import http.server, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
for number in range(20000):
    print(f"chatter {number:05d} " + "x" * 40)
sys.stdout.flush()
server.serve_forever()
"""


def test_the_emulator_output_goes_to_its_log_and_cannot_stall_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "chatty.py"
    fake.write_text(CHATTY_EMULATOR)
    monkeypatch.setattr(emulator_module, "CORRECTIONS", fake)
    log = tmp_path / "moto.log"
    emulator = emulator_module.Emulator(log)
    try:
        emulator.start(timeout_s=10)  # the server answers only once its output is out of the pipe
    finally:
        emulator.stop()
    text = log.read_text()
    assert "chatter 00000 " in text and "chatter 19999 " in text
