"""No import cycle anywhere: the constructs, the runtime, the client and the app, read with ``ast`` (nothing is
imported). Every import that runs counts, lazy ones inside functions included; imports under ``if
TYPE_CHECKING:`` do not run, so they are types only and left out. tests/proxy/test_imports.py holds the runtime to
the same rule with its own walk, and dependencies point one way: app -> stacks -> constructs -> contract;
client -> contract (tests/test_layout.py)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from import_graph import find_cycle

REPO = Path(__file__).resolve().parents[1]
#: Top-level package -> the folder holding it.
PACKAGES = {
    "mistral_endpoint": REPO / "constructs" / "mistral_endpoint",
    "invoke_proxy": REPO / "lambda" / "invoke_proxy",
    "mistral_client": REPO / "client" / "mistral_client",
    "stacks": REPO / "stacks",
}


def module_files() -> dict[str, Path]:
    """Dotted module name -> its file, for every module of the packages (``app`` too)."""
    found = {"app": REPO / "app.py"}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def running_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that runs: all but those under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
            yield node


def targets(name: str, path: Path, node: ast.Import | ast.ImportFrom, known: Mapping[str, Path]) -> set[str]:
    """The known modules one import statement of module ``name`` loads."""
    if isinstance(node, ast.Import):
        return {_longest_known(alias.name, known) for alias in node.names} - {None}  # type: ignore[operator]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        module = ".".join([*base, node.module] if node.module else base)
    else:
        module = node.module or ""
    found = {f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in known}
    if len(found) < len(node.names):  # some names are attributes of the module itself
        owner = _longest_known(module, known)
        if owner is not None:
            found.add(owner)
    return found


def _longest_known(dotted: str, known: Mapping[str, Path]) -> str | None:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def import_graph() -> dict[str, set[str]]:
    known = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in running_imports(tree):
            edges |= targets(name, path, node, known)
        graph[name] = edges - {name}
    return graph


def test_the_walk_resolves_relative_absolute_and_lazy_imports() -> None:
    graph = import_graph()
    assert "mistral_endpoint.defaults" in graph["mistral_endpoint.hosting"]  # from .defaults import DEFAULTS
    assert "stacks.config" in graph["app"]  # from stacks.config import ...
    assert "mistral_client.preflight_checks" in graph["mistral_client.preflight"]


def test_a_cycle_is_found_and_named() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_imports_are_left_out() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import x\nfrom . import y\n"
    )
    assert [n.names[0].name for n in running_imports(tree)] == ["TYPE_CHECKING", "y"]


@pytest.mark.parametrize("package", [*PACKAGES, "app"])
def test_no_import_cycle(package: str) -> None:
    graph = import_graph()
    within = {
        m: {t for t in ts if t.split(".")[0] == package}
        for m, ts in graph.items()
        if m.split(".")[0] == package
    }
    cycle = find_cycle(within)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_across_the_packages() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
