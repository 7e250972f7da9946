"""The emulator: moto's server with the rehearsal's corrections, in a child process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .common import ACCOUNT, REGION, ROOT, RehearsalError, check, stop_group

# The server script: moto with the corrections for its known gaps, each documented and tested there.
CORRECTIONS = ROOT / "tests" / "rehearsal" / "moto_corrections.py"

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
        self.queue_sagemaker_results([{"Body": body, "ContentType": "application/json"} for body in bodies])

    def queue_sagemaker_error(self, code: str, message: str, status: int = 400) -> None:
        """InvokeEndpoint fails next with this error (a queued error: moto_corrections.py,
        ``answer_each_invocation_from_the_queue``)."""
        self.queue_sagemaker_results([{"Error": {"Code": code, "Message": message, "StatusCode": status}}])

    def queue_sagemaker_results(self, results: list[dict[str, object]]) -> None:
        payload = {"account_id": ACCOUNT, "region": REGION, "results": results}
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
