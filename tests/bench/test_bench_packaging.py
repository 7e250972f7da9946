"""The wheel ships mistral-bench: the console script, the prompt text, and the bench extra for the chart."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from synth_helpers import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = Path(out).glob("mistral_endpoint-*.whl")
    return zipfile.ZipFile(built)


def read(wheel: zipfile.ZipFile, suffix: str) -> str:
    return wheel.read(next(n for n in wheel.namelist() if n.endswith(suffix))).decode()


def test_the_wheel_installs_the_mistral_bench_command(wheel: zipfile.ZipFile) -> None:
    assert "mistral-bench = mistral_endpoint.bench.cli:main" in read(wheel, "entry_points.txt")


def test_the_wheel_ships_the_public_domain_prompt_text(wheel: zipfile.ZipFile) -> None:
    text = wheel.read("mistral_endpoint/bench/pride_and_prejudice.txt").decode()
    assert text.startswith("# Pride and Prejudice, by Jane Austen")


def test_matplotlib_comes_only_with_the_bench_extra(wheel: zipfile.ZipFile) -> None:
    requirements = [
        line for line in read(wheel, "METADATA").splitlines() if line.startswith("Requires-Dist:")
    ]
    matplotlib = [line for line in requirements if "matplotlib" in line]
    assert matplotlib and all('extra == "bench"' in line for line in matplotlib)
