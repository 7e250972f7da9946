"""``mistral-bench run`` says when nothing worked: one check request before the sweep (stop, say what failed,
exit 1), and exit 1 naming every cell without a successful request (the report files are still written)."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from conftest import FAST, StandInFactory, target_for

from mistral_client.bench import cli
from mistral_client.bench.targets import WAKE_HINT, FunctionUrlTarget, Outcome
from mistral_client.standin import TimingModel

QUICK = ["--users", "1", "--input-words", "16", "--output-tokens", "4", "--requests-per-user", "1"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["run", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: bound to find a free one, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def forbidden_url() -> Iterator[str]:
    """A function URL that refuses every request as AWS_IAM function URLs do without both permissions."""

    class Forbidden(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"Message": "Forbidden"}).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


# --- the check before the sweep ------------------------------------------------------------------------------


def test_a_closed_port_stops_the_run_before_the_sweep_with_exit_1(closed_port: int, tmp_path: Path) -> None:
    code, out, err = run("--url", f"http://127.0.0.1:{closed_port}/", "--out", str(tmp_path / "r"), *QUICK)
    assert (code, out) == (1, "")
    assert "no sweep was run" in err


def test_a_closed_port_is_reported_as_connection_refused(closed_port: int, tmp_path: Path) -> None:
    _, _, err = run("--url", f"http://127.0.0.1:{closed_port}/", "--out", str(tmp_path / "r"), *QUICK)
    assert f"connection refused: nothing is listening on 127.0.0.1:{closed_port}" in err


def test_a_failed_check_writes_no_report(closed_port: int, tmp_path: Path) -> None:
    run("--url", f"http://127.0.0.1:{closed_port}/", "--out", str(tmp_path / "r"), *QUICK)
    assert not (tmp_path / "r").exists()


def test_a_closed_sagemaker_runtime_port_says_it_could_not_connect(
    closed_port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", f"http://127.0.0.1:{closed_port}")
    code, _, err = run("--endpoint-name", "ep", "--out", str(tmp_path / "r"), *QUICK)
    assert code == 1
    assert f"could not connect to SageMaker runtime at http://127.0.0.1:{closed_port}" in err


def test_a_403_from_the_function_url_names_both_iam_permissions(forbidden_url: str, tmp_path: Path) -> None:
    code, _, err = run("--url", forbidden_url, "--region", "us-east-1", "--out", str(tmp_path / "r"), *QUICK)
    assert code == 1
    assert "refused the signed request (403: Forbidden)" in err
    assert "lambda:InvokeFunctionUrl" in err and "lambda:InvokeFunction\n" in err


def test_an_unknown_endpoint_is_named_with_the_region_it_was_looked_for_in(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stand_in = stand_in_factory(FAST)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    code, _, err = run("--endpoint-name", "no-such-endpoint", "--out", str(tmp_path / "r"), *QUICK)
    assert code == 1
    assert "Endpoint no-such-endpoint of account 123456789012 not found." in err
    assert "Check --endpoint-name and --region (this call went to us-east-1)" in err


def test_the_check_is_one_small_request_sent_before_the_sweep(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stand_in = stand_in_factory(FAST)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    code, _, err = run(
        "--endpoint-name", stand_in.endpoint_name, "--out", str(tmp_path), "--no-chart", "--stream", *QUICK
    )
    assert code == 0, err
    check, *sweep = stand_in.bodies
    assert (check["parameters"]["max_new_tokens"], len(check["inputs"].split()), check["stream"]) == (
        1,
        8,
        True,
    )
    assert len(sweep) == 2  # one user: a warm-up and a measured request


def test_a_scaled_to_zero_model_behind_the_proxy_is_explained_with_how_to_wake_it() -> None:
    target = FunctionUrlTarget("http://127.0.0.1:1/", "us-east-1", botocore.session.Session(), timeout=5)
    body = {"error": {"type": "model_scaling_up", "message": "The model is scaling up from zero."}}
    outcome = Outcome(0, 0, "5xx", status=503, message=f"503: {json.dumps(body)} (Retry-After: 30)")
    assert target.explain(outcome).endswith(WAKE_HINT)


def test_a_403_from_the_private_api_names_execute_api_invoke_not_the_function_urls_permissions() -> None:
    url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/"
    target = FunctionUrlTarget(url, "eu-west-1", botocore.session.Session(), timeout=5)
    explained = target.explain(Outcome(0, 0, "other", status=403, message='403: {"message":"Forbidden"}'))
    assert "execute-api:Invoke" in explained
    assert "lambda:InvokeFunctionUrl" not in explained


def test_access_denied_on_the_endpoint_names_the_action_and_the_endpoint(
    stand_in_factory: StandInFactory,
) -> None:
    target = target_for(stand_in_factory(FAST))
    message = "AccessDeniedException: User: arn:aws:iam::123456789012:user/u is not authorized"
    explained = target.explain(Outcome(0, 0, "other", status=403, message=message))
    assert (
        "sagemaker:InvokeEndpoint on arn:aws:sagemaker:us-east-1:<account>:endpoint/mistral-standin"
        in explained
    )


# --- cells without a successful request --------------------------------------------------------------------------

# Short prompts (the check's 8 words, 16-word cells) answer at once; 1000-word prompts outlast the container.
SLOW_PREFILL = TimingModel(
    prefill_base_s=0.002,
    prefill_per_kword_s=2.0,
    token_base_s=0.001,
    token_per_request_s=0.0,
    token_per_kword_s=0.0,
    max_concurrent_requests=4,
    container_timeout_s=0.3,
)


@pytest.fixture
def timing_out_run(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[int, str, Path]:
    stand_in = stand_in_factory(SLOW_PREFILL)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    argv = ["--users", "1,2", "--input-words", "16,1000", "--output-tokens", "4", "--requests-per-user", "1"]
    code, _, err = run("--endpoint-name", stand_in.endpoint_name, "--out", str(tmp_path), "--no-chart", *argv)
    return code, err, tmp_path


def test_a_cell_without_a_successful_request_makes_the_run_exit_1(
    timing_out_run: tuple[int, str, Path],
) -> None:
    code, err, _ = timing_out_run
    assert code == 1
    assert "FAILED: 2 of 4 cells have no successful request" in err


def test_each_cell_without_a_successful_request_is_named_with_why(
    timing_out_run: tuple[int, str, Path],
) -> None:
    _, err, _ = timing_out_run
    assert "  - 1000 words x 1 users: every request timed out; most often (1x) timeout: ModelError" in err
    assert (
        "  - 1000 words x 2 users: not run: a cell with fewer users and the same input size timed out" in err
    )
    assert "16 words x" not in err.split("FAILED")[1]


def test_the_report_files_are_written_when_cells_failed(timing_out_run: tuple[int, str, Path]) -> None:
    _, _, folder = timing_out_run
    assert sorted(p.name for p in folder.iterdir()) == ["requests.json", "results.csv", "results.md"]


def test_a_cell_whose_every_request_failed_names_the_error(
    stand_in_factory: StandInFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The check is the stand-in's request 1; the sweep's single request (no warm-up) is request 2, which fails.
    stand_in = stand_in_factory(FAST, fail_every=2)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
    code, _, err = run(
        "--endpoint-name",
        stand_in.endpoint_name,
        "--out",
        str(tmp_path),
        "--no-chart",
        "--warmup",
        "0",
        *QUICK,
    )
    assert code == 1
    assert "  - 16 words x 1 users: 0 of 1 requests succeeded; most often (1x) 5xx: ModelError (500)" in err
