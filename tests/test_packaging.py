"""Three distributions, each wheel installed in a clean venv of its own, as CI does.

- the constructs (``mistral-endpoint``, the repository's root): its wheel alone serves a platform team's app;
- the proxy's runtime (``mistral-endpoint-runtime``, ``lambda/``): no third-party dependency;
- the client (``mistral-endpoint-client``, ``client/``): no ``aws_cdk`` in its venv, and ``mistral-invoke``,
  ``mistral-bench self-test`` and the OpenAI SDK with its signer work from it.

Each wheel is built once (from its sdist, so nothing stale from an earlier build gets in) and each venv made
once per session; dependencies come from pip's configured indexes and cache, or (the constructs' aws-cdk-lib,
hundreds of megabytes) from this venv's site-packages as a plain path.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import textwrap
import venv
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from cli.cli_helpers import ACCESS_KEY, SECRET_KEY, FunctionUrl, signature_is_valid
from synth_helpers import REPO

pytestmark = pytest.mark.slow

SOURCES = {"constructs": REPO, "runtime": REPO / "lambda", "client": REPO / "client"}
WHEEL_NAMES = {
    "constructs": "mistral_endpoint-*.whl",
    "runtime": "mistral_endpoint_runtime-*.whl",
    "client": "mistral_endpoint_client-*.whl",
}

APP = textwrap.dedent(
    """
    import json, sys
    import aws_cdk as cdk
    import mistral_endpoint
    from mistral_endpoint import MistralEndpoint

    app = cdk.App(outdir=sys.argv[1])
    stack = cdk.Stack(app, "TeamStack")
    MistralEndpoint(stack, "Mistral")
    assembly = app.synth()
    print(json.dumps({"package": mistral_endpoint.__file__, "template": assembly.get_stack_by_name("TeamStack").template}))
    """
)

OPENAI_CALL = textwrap.dedent(
    """
    import sys
    import httpx2
    from openai import OpenAI
    from mistral_client import FunctionUrlSigner

    client = OpenAI(
        base_url=sys.argv[1] + "v1",
        api_key="unused",
        max_retries=0,
        http_client=httpx2.Client(auth=FunctionUrlSigner(region="us-east-1"), timeout=30),
    )
    completion = client.chat.completions.create(
        model="mistral-7b-instruct", messages=[{"role": "user", "content": "Hello"}]
    )
    print(completion.choices[0].message.content)
    """
)


CHAT_COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "mistral-7b-instruct",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Bonjour"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


def build(source: Path, out: Path) -> None:
    # sdist first, then the wheel from the unpacked sdist: a clean tree, whatever build/ holds.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    for source in SOURCES.values():
        build(source, out)
    return {name: next(out.glob(pattern)) for name, pattern in WHEEL_NAMES.items()}


def names_in(wheel: Path) -> list[str]:
    return zipfile.ZipFile(wheel).namelist()


def read(wheel: Path, suffix: str) -> str:
    archive = zipfile.ZipFile(wheel)
    return archive.read(next(n for n in archive.namelist() if n.endswith(suffix))).decode()


def requirements(wheel: Path) -> list[str]:
    return [
        line for line in read(wheel, ".dist-info/METADATA").splitlines() if line.startswith("Requires-Dist:")
    ]


def new_venv(path: Path) -> Path:
    """A venv without pip (this venv's pip installs into it): its python."""
    venv.create(path, with_pip=False)
    return path / "bin" / "python"


def pip_install(python: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *args],
        check=True,
        capture_output=True,
        text=True,
    )


def run_in(
    python: Path, *args: str, cwd: Path | str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a venv's program, this process's environment without its PYTHONPATH (plus ``env``)."""
    return subprocess.run(
        [str(python), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": "", **(env or {})},
        timeout=timeout,
    )


# --- the constructs ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def constructs_venv(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = new_venv(tmp_path_factory.mktemp("constructs") / "venv")
    purelib = run_in(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd="/")
    purelib_dir = purelib.stdout.strip()
    # Dependencies (aws-cdk-lib is large) come from the test venv's site-packages, added as a plain path:
    # .pth files inside it are not processed, so the repo's editable installs (runtime, client) stay invisible.
    Path(purelib_dir, "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip_install(python, "--no-deps", str(wheels["constructs"]))
    return python


def test_the_constructs_wheel_carries_the_proxy_runtime(wheels: dict[str, Path]) -> None:
    names = names_in(wheels["constructs"])
    assert "mistral_endpoint/_lambda/invoke_proxy/handler.py" in names
    assert "mistral_endpoint/_lambda/invoke_proxy/contract.py" in names
    assert "mistral_endpoint/_lambda/run.sh" in names
    assert "mistral_endpoint/_lambda/invoke_proxy/openapi.json" in names
    assert not any(
        name.startswith(("constructs/", "stacks/", "tests/", "client/", "lambda/")) for name in names
    )


def test_the_constructs_wheel_holds_no_client(wheels: dict[str, Path]) -> None:
    names = names_in(wheels["constructs"])
    assert not [n for n in names if n.startswith(("mistral_client/", "mistral_endpoint/bench/"))]
    assert "mistral_endpoint/cli.py" not in names
    assert not [n for n in names if n.endswith("entry_points.txt")]


def test_the_constructs_wheel_requires_only_the_cdk(wheels: dict[str, Path]) -> None:
    required = [
        re.split(r"[<>=!~;\s]", line.split(":", 1)[1].strip())[0]
        for line in requirements(wheels["constructs"])
    ]
    assert required == ["aws-cdk-lib", "constructs"]


def test_installed_wheel_synthesizes_a_team_stack(constructs_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    result = run_in(constructs_venv, "app.py", str(tmp_path / "cdk.out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["package"].startswith(str(constructs_venv.parent.parent))
    types = {r["Type"] for r in output["template"]["Resources"].values()}
    assert {"AWS::SageMaker::Endpoint", "AWS::Lambda::Function", "AWS::Lambda::Url"} <= types
    (asset,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    assert sorted(p.name for p in asset.iterdir()) == ["invoke_proxy", "run.sh"]
    assert (asset / "invoke_proxy" / "handler.py").is_file()


# --- the runtime ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_venv(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = new_venv(tmp_path_factory.mktemp("runtime") / "venv")
    pip_install(python, str(wheels["runtime"]))  # with its dependencies: it declares none
    return python


def test_the_runtime_wheel_has_no_dependency(wheels: dict[str, Path]) -> None:
    assert requirements(wheels["runtime"]) == []


def test_the_runtime_wheel_ships_the_openapi_document(wheels: dict[str, Path]) -> None:
    assert "invoke_proxy/openapi.json" in names_in(wheels["runtime"])


def test_the_contract_and_the_region_rules_import_in_a_bare_venv(runtime_venv: Path) -> None:
    code = (
        "import sys; from invoke_proxy import contract, regions; from invoke_proxy.openapi import load_openapi; "
        "assert load_openapi()['openapi'].startswith('3.1'); "
        "print(contract.NAMESPACE, regions.TGI_IMAGE.admits('us-east-1'), "
        "sorted(m for m in sys.modules if m.startswith(('aws_cdk', 'botocore', 'boto3'))))"
    )
    result = run_in(runtime_venv, "-c", code, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["MistralEndpoint", "True", "[]"]


# --- the client -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_venv(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = new_venv(tmp_path_factory.mktemp("client") / "venv")
    # The client's own dependencies, resolved by pip (the runtime from its wheel), and the OpenAI SDK the
    # signer is tried with, at this venv's versions.
    pip_install(
        python,
        str(wheels["runtime"]),
        str(wheels["client"]),
        f"botocore=={metadata.version('botocore')}",
        f"openai=={metadata.version('openai')}",
    )
    return python


def test_the_client_wheel_needs_only_botocore_and_the_runtime(wheels: dict[str, Path]) -> None:
    required = sorted(line for line in requirements(wheels["client"]) if "extra ==" not in line)
    assert required == [
        "Requires-Dist: botocore>=1.34",
        "Requires-Dist: mistral-endpoint-runtime==0.1.0",
    ]


def test_matplotlib_comes_only_with_the_chart_extra(wheels: dict[str, Path]) -> None:
    matplotlib = [line for line in requirements(wheels["client"]) if "matplotlib" in line]
    assert matplotlib and all('extra == "chart"' in line for line in matplotlib)


def test_the_client_wheel_installs_both_commands(wheels: dict[str, Path]) -> None:
    entry_points = read(wheels["client"], "entry_points.txt")
    assert "mistral-invoke = mistral_client.cli:main" in entry_points
    assert "mistral-bench = mistral_client.bench.cli:main" in entry_points


def test_the_client_wheel_ships_the_public_domain_prompt_text(wheels: dict[str, Path]) -> None:
    text = zipfile.ZipFile(wheels["client"]).read("mistral_client/bench/pride_and_prejudice.txt").decode()
    assert text.startswith("# Pride and Prejudice, by Jane Austen")


def test_the_client_wheel_ships_the_chat_page(wheels: dict[str, Path]) -> None:
    shipped = zipfile.ZipFile(wheels["client"]).read("mistral_client/chat_page.html")
    assert shipped == (REPO / "client" / "mistral_client" / "chat_page.html").read_bytes()


def test_the_client_venv_has_no_aws_cdk(client_venv: Path) -> None:
    code = (
        "import importlib.util, importlib.metadata as m; "
        "print(importlib.util.find_spec('aws_cdk'), sorted(d.metadata['Name'] for d in m.distributions() "
        "if d.metadata['Name'].lower().startswith(('aws-cdk', 'constructs', 'mistral-endpoint'))))"
    )
    result = run_in(client_venv, "-c", code, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None ['mistral-endpoint-client', 'mistral-endpoint-runtime']"


def test_mistral_invoke_help_works_from_the_client_venv(client_venv: Path) -> None:
    result = run_in(client_venv.parent / "mistral-invoke", "--help", cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mistral-invoke")


def test_mistral_bench_self_test_passes_from_the_client_venv(client_venv: Path, tmp_path: Path) -> None:
    result = run_in(
        client_venv.parent / "mistral-bench", "self-test", "--no-chart", cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout


@pytest.fixture
def function_url() -> Iterator[FunctionUrl]:
    server = FunctionUrl().start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_openai_sdk_signs_with_the_client_venvs_signer(
    client_venv: Path, function_url: FunctionUrl, tmp_path: Path
) -> None:
    function_url.answer(200, CHAT_COMPLETION)
    (tmp_path / "call.py").write_text(OPENAI_CALL)
    credentials = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    }
    result = run_in(client_venv, str(tmp_path / "call.py"), function_url.url, cwd=tmp_path, env=credentials)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Bonjour"
    (request,) = function_url.requests
    assert request.path == "/v1/chat/completions"
    assert signature_is_valid(request, function_url.url, "us-east-1")
