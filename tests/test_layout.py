"""Repository layout rules that keep the package importable and the runtime code in one place."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import constructs
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
    import subprocess

    code = "import sys, mistral_endpoint; print('aws_cdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "False"
