"""Import aws-cdk-lib's Python modules on a thread while aws-cdk-lib's Node process works for the main thread.

A synth runs in two processes that mostly wait for each other: this Python process, and the Node process that
jsii starts for aws-cdk-lib. Python's imports of the service modules the stack uses (``aws_cdk.aws_ec2``,
``aws_cdk.aws_lambda``, ...) are about 0.2 s of Python work with the Node process idle; loading the cdk-nag packs
is about as long the other way round, Node working while Python waits for its answers (and a thread that waits
for an answer releases the GIL). ``build_app`` starts this thread, registers the packs, then joins it: the two
overlap instead of following each other.

The thread imports nothing but aws-cdk-lib's own modules, and those make no call to the Node process when
imported (their types are generated Python; the assembly was loaded by ``import aws_cdk``), so it never talks
to the Node process while the main thread does. The main thread joins it before it imports anything else.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import threading
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_MODULE_IMPORT = re.compile(r"^from aws_cdk import (aws_\w+)", re.MULTILINE)


def cdk_modules(sources: Iterable[Path]) -> list[str]:
    """The aws-cdk-lib service modules that ``sources`` import at their top level (not the ones imported only
    for the type checker or inside a function, for a rarely used option), in a stable order."""
    found: set[str] = set()
    for source in sources:
        found.update(_MODULE_IMPORT.findall(source.read_text(encoding="utf-8")))
    return sorted(found)


def _project_sources() -> list[Path]:
    # Found, not imported: importing the package imports its modules, and some of those call the Node process.
    spec = importlib.util.find_spec("mistral_endpoint")
    folders = [Path(f) for f in (spec.submodule_search_locations or [])] if spec is not None else []
    return [path for folder in [*folders, REPO / "stacks"] for path in sorted(folder.glob("*.py"))]


def _import_all() -> None:
    try:
        for name in cdk_modules(_project_sources()):
            importlib.import_module(f"aws_cdk.{name}")
    except Exception:  # the main thread imports the same module and raises it there
        return


def start() -> threading.Thread:
    """Start importing, on a daemon thread; ``join()`` it before importing the project's modules. A failure
    on the thread stops it quietly: the main thread's own import of the same module raises it there."""
    thread = threading.Thread(target=_import_all, name="prefetch-aws-cdk-modules", daemon=True)
    thread.start()
    return thread
