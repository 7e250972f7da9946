"""The runtime's shape: no import cycle inside lambda/invoke_proxy, no module over 500 lines, no function over
80. Read with ``ast`` from the sources (nothing is imported), counting every import: top-level, inside
functions (the lazy ones) and under ``TYPE_CHECKING``, since each is a dependency."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from import_graph import find_cycle

PACKAGE = "invoke_proxy"
ROOT = Path(__file__).resolve().parents[2] / "lambda" / PACKAGE
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(ROOT.glob("*.py")) if path.stem != "__init__"}


def imported(tree: ast.AST, known: Mapping[str, Path]) -> set[str]:
    """The package's own modules that ``tree`` imports, by name (``from . import x``, ``from .x import y``,
    ``import invoke_proxy.x``, ``from invoke_proxy import x``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                continue  # above the package: not one of its modules
            parts = (node.module or "").split(".") if node.module else []
            if node.level == 0:
                if not parts or parts[0] != PACKAGE:
                    continue
                parts = parts[1:]
            if parts:
                found.add(parts[0])
            else:  # ``from . import a, b``: each name a module of the package (or a name in __init__)
                found.update(alias.name for alias in node.names)
    return found & set(known)


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: imported(ast.parse(path.read_text(encoding="utf-8")), known) for name, path in known.items()
    }


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_the_walk_reads_every_import_form() -> None:
    source = (
        "from . import chat, generate\n"
        "from .records import Request\n"
        "import invoke_proxy.sse\n"
        "from invoke_proxy import errors\n"
        "from .. import elsewhere\n"
        "import json\n"
        "def f():\n"
        "    from .streaming import TokenStream\n"
    )
    known = {name: Path(name) for name in ("chat", "generate", "records", "sse", "errors", "streaming")}
    assert imported(ast.parse(source), known) == set(known)


def test_a_cycle_is_found_and_named() -> None:
    graph = {"core": {"routes"}, "routes": {"model_route"}, "model_route": {"core"}, "paths": set()}
    assert find_cycle(graph) == ["core", "routes", "model_route", "core"]
    assert find_cycle({"core": {"routes"}, "routes": {"paths"}, "paths": set()}) is None


def test_the_runtime_has_no_import_cycle() -> None:
    graph = import_graph()
    assert {"core", "routes", "streaming", "function_url", "http_server"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_streaming_imports_neither_transport_nor_the_pipeline() -> None:
    assert not import_graph()["streaming"] & {"core", "function_url", "http_server", "handler"}


def test_no_runtime_module_is_over_500_lines() -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_no_runtime_function_is_over_80_lines() -> None:
    long = {
        f"{name}.{function.name}": (function.end_lineno or function.lineno) - function.lineno + 1
        for name, path in modules().items()
        for function in functions(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert {name: n for name, n in long.items() if n > MAX_FUNCTION_LINES} == {}
