"""The Lambda asset runs on the bare Python runtime: standard library, boto3 and botocore, relative imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ASSET = Path(__file__).resolve().parents[2] / "lambda" / "invoke_proxy"
RUNTIME_PROVIDED = {"boto3", "botocore"}


@pytest.mark.parametrize("module", sorted(ASSET.glob("*.py")), ids=lambda path: path.name)
def test_the_module_imports_only_what_the_lambda_runtime_provides(module: Path) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - RUNTIME_PROVIDED - {"__future__"} == set()
