"""``--version`` for both commands: the installed client distribution's version, looked up only when asked."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

DISTRIBUTION = "mistral-endpoint-client"  # the distribution both commands ship in (client/pyproject.toml)


def package_version() -> str:
    """The installed distribution's version; from a source tree that was never installed, says so."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return f"unknown ({DISTRIBUTION} is not installed: pip install -e client from the repository)"


class VersionAction(argparse.Action):
    """``--version``: prints ``<prog> <version>`` and exits 0. The version is looked up only when asked for,
    so every other command starts without reading the installed distributions' metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", f"print the installed {DISTRIBUTION} version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(
            f"{parser.prog} {package_version()}\n"
        )  # on stdout, as argparse's own version action
        parser.exit()
