"""The proxy's runtime (``lambda/`` at the top of the repository) as the subpackage ``mistral_endpoint._lambda``.

The constructs need it twice: as the directory the function's asset is built from (``SOURCE``: ``run.sh`` and
the ``invoke_proxy`` package), and for the contract it shares with them (environment variable names, metric
names, token limits, region rules). A built wheel carries a copy beside this module, ``mistral_endpoint/_lambda/``,
put there by pyproject.toml's ``package-dir`` mapping; a checkout has ``lambda/`` two levels up (no symlink, so
Windows checkouts work). This module's ``__path__`` names whichever exists, which makes it a package:
``from ._lambda.invoke_proxy import metrics`` works in both, and so does ``from ._lambda import contract``.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

_HERE = Path(__file__).resolve().parent
_WHEEL_COPY = _HERE / "_lambda"

#: The directory the function's asset is built from: the wheel's copy, or the checkout's ``lambda/``.
SOURCE = _WHEEL_COPY if (_WHEEL_COPY / "invoke_proxy").is_dir() else _HERE.parent.parent / "lambda"

#: What the asset leaves out of that directory: bytecode, and in a checkout what packaging the runtime
#: distribution (lambda/pyproject.toml) leaves beside it. The function's zip holds run.sh and invoke_proxy/.
ASSET_EXCLUDE = ("**/__pycache__", "**/*.pyc", "pyproject.toml", "*.egg-info", "build", "dist")

# A module with a __path__ is a package to the import system: its submodules are looked up there.
__path__ = [str(SOURCE)]

if TYPE_CHECKING:  # the type checker knows the runtime by its distribution's own name
    import invoke_proxy.contract as contract
    import invoke_proxy.metrics as metrics
    import invoke_proxy.regions as regions
    import invoke_proxy.tgi_images as tgi_images
else:
    contract = import_module(f"{__name__}.invoke_proxy.contract")
    metrics = import_module(f"{__name__}.invoke_proxy.metrics")
    regions = import_module(f"{__name__}.invoke_proxy.regions")
    tgi_images = import_module(f"{__name__}.invoke_proxy.tgi_images")

__all__ = ["ASSET_EXCLUDE", "SOURCE", "contract", "metrics", "regions", "tgi_images"]
