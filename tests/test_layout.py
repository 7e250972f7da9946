"""Repository layout rules that keep the package importable and the runtime code in one place."""

from __future__ import annotations

import ast
import fnmatch
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


def test_the_runtime_lives_once_in_lambda_without_a_symlink() -> None:
    # Windows checkouts do not make symlinks: the constructs find lambda/ through _lambda.py instead.
    from mistral_endpoint import _lambda

    assert not (REPO / "constructs" / "mistral_endpoint" / "_lambda").exists()
    assert _lambda.SOURCE == REPO / "lambda"
    assert (REPO / "lambda" / "invoke_proxy" / "handler.py").is_file()


def test_the_repository_holds_no_symlink() -> None:
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    assert [line.split("\t", 1)[1] for line in listed.stdout.splitlines() if line.startswith("120000 ")] == []


def test_the_constructs_import_the_runtime_through_lambda_py() -> None:
    from mistral_endpoint import _lambda

    assert _lambda.contract.__name__ == "mistral_endpoint._lambda.invoke_proxy.contract"
    assert Path(_lambda.contract.__file__).parent == REPO / "lambda" / "invoke_proxy"


def test_the_asset_leaves_out_everything_but_run_sh_and_the_package() -> None:
    from mistral_endpoint import _lambda

    others = [
        path.name for path in (REPO / "lambda").iterdir() if path.name not in ("run.sh", "invoke_proxy")
    ]
    assert "pyproject.toml" in others
    for name in [*others, "mistral_endpoint_runtime.egg-info", "build", "dist"]:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in _lambda.ASSET_EXCLUDE), name


def imported_modules(path: Path) -> list[str]:
    """The top-level names of what a module imports (relative imports left out)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


CLIENT = REPO / "client" / "mistral_client"
RUNTIME = REPO / "lambda" / "invoke_proxy"


@pytest.mark.parametrize("package", [RUNTIME, CLIENT], ids=["runtime", "client"])
def test_the_runtime_and_the_client_import_no_cdk(package: Path) -> None:
    for path in package.rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith(("aws_cdk", "constructs", "cdk_nag")), f"{path}: imports {name}"


def test_the_client_imports_nothing_of_the_constructs() -> None:
    for path in CLIENT.rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith("mistral_endpoint"), f"{path}: imports {name}"


def test_the_runtime_imports_neither_the_constructs_nor_the_client() -> None:
    for path in RUNTIME.rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith(("mistral_endpoint", "mistral_client")), f"{path}: imports {name}"


def test_the_constructs_import_the_runtime_only_through_their_copy() -> None:
    # In a wheel the runtime is mistral_endpoint._lambda.invoke_proxy; a top-level invoke_proxy may not exist.
    for path in (REPO / "constructs" / "mistral_endpoint").rglob("*.py"):
        if path.name == "_lambda.py":
            continue  # its TYPE_CHECKING import names the runtime for the type checker only
        for name in imported_modules(path):
            assert not name.startswith(("invoke_proxy", "mistral_client")), f"{path}: imports {name}"


def test_the_client_starts_without_the_cdk_or_botocore() -> None:
    code = "import sys, mistral_client.cli, mistral_client.bench.cli; print(sorted({m.split('.')[0] for m in sys.modules} & {'aws_cdk', 'botocore', 'mistral_endpoint'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "[]"


def test_importing_the_package_does_not_load_the_cdk() -> None:
    code = "import sys, mistral_endpoint; print('aws_cdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "False"


# Files that are not in this repository: a comment or docstring pointing there leaves the reader of the code (or of
# the wheel) without the fact it relies on. State the fact where it is used, or point to a page of the docs site
# (docs/).
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
    assert pointing == set(), f"move the fact into the code or a page of the docs site (docs/): {pointing}"


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def source_files_outside_tests() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.strip()}")
    return [
        REPO / p for p in listed.stdout.splitlines() if not p.startswith("tests/") and (REPO / p).is_file()
    ]


def test_no_module_over_500_lines_outside_tests() -> None:
    long = {
        path.relative_to(REPO).as_posix(): lines
        for path in source_files_outside_tests()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_over_80_lines_outside_tests() -> None:
    long = {}
    for path in source_files_outside_tests():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO).as_posix()}:{node.name}"] = lines
    assert long == {}
