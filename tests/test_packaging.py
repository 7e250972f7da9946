"""The wheel is self-contained: installed into a fresh venv outside the repo, it synthesizes on its own."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest
from synth_helpers import REPO

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("mistral_endpoint-*.whl")
    return built


def test_wheel_ships_the_proxy_code_and_the_cli(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "mistral_endpoint/_lambda/invoke_proxy/handler.py" in names
    assert "mistral_endpoint/_tgi_images.py" in names
    assert not any(name.startswith(("constructs/", "stacks/", "tests/")) for name in names)
    entry_points = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    )
    assert "mistral-invoke = mistral_endpoint.cli:main" in entry_points


def test_boto3_is_only_needed_for_the_cli(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert [line for line in requires if "boto3" in line] == ['Requires-Dist: boto3>=1.34; extra == "cli"']
    assert not any(line.startswith("Requires-Dist: boto") and "extra" not in line for line in requires)


def test_installed_wheel_synthesizes_a_team_stack(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies (aws-cdk-lib is large) come from the test venv's site-packages, added as a plain path:
    # .pth files inside it are not processed, so the repo's editable install stays invisible.
    Path(purelib, "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    (tmp_path / "app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run(
        [str(python), "app.py", str(tmp_path / "cdk.out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["package"].startswith(str(env_dir))
    types = {r["Type"] for r in output["template"]["Resources"].values()}
    assert {"AWS::SageMaker::Endpoint", "AWS::Lambda::Function", "AWS::Lambda::Url"} <= types
    (asset,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    assert (asset / "invoke_proxy" / "handler.py").is_file()
    assert (env_dir / "bin" / "mistral-invoke").exists()
