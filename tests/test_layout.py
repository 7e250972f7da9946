"""Repository layout rules that keep the package importable and the runtime code in one place."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import constructs
import pytest
from synth_helpers import REPO


def test_constructs_is_the_installed_library_not_our_source_folder() -> None:
    assert not (REPO / "constructs" / "__init__.py").exists()
    library = Path(constructs.__file__).resolve()
    assert "site-packages" in library.parts
    assert constructs.Construct.__module__.startswith("constructs")


def test_proxy_code_lives_once_and_ships_in_the_package() -> None:
    link = REPO / "constructs" / "mistral_endpoint" / "_lambda"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "lambda").resolve()
    assert (REPO / "lambda" / "invoke_proxy" / "handler.py").is_file()


def test_runtime_code_imports_no_cdk() -> None:
    runtime = [*(REPO / "lambda").rglob("*.py"), REPO / "constructs" / "mistral_endpoint" / "cli.py"]
    for path in runtime:
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("aws_cdk", "constructs", "cdk_nag")), f"{path}: imports {name}"


def test_importing_the_package_does_not_load_the_cdk() -> None:
    code = "import sys, mistral_endpoint; print('aws_cdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "False"


# Files that are not in this repository: a comment or docstring pointing there leaves the reader of the code (or of
# the wheel) without the fact it relies on. State the fact where it is used, or point to a README.md section.
OUTSIDE_FILES = ("shared/DOMAIN.md", "docs/rehearsal.md")


def tracked_python_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    return listed.stdout.splitlines()


def test_no_python_file_points_to_a_file_outside_the_repository() -> None:
    this_file = Path(__file__).resolve().relative_to(REPO).as_posix()  # it names them to look for them
    pointing = {
        path
        for path in tracked_python_files()
        if path != this_file
        and (REPO / path).is_file()
        and any(name in (REPO / path).read_text(encoding="utf-8") for name in OUTSIDE_FILES)
    }
    assert pointing == set(), f"move the fact into the code or README.md: {pointing}"
