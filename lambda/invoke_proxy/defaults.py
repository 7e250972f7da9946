"""Deprecated: the runtime's defaults are ``contract.RUNTIME_DEFAULTS``; import them from ``contract``.

The pattern's other defaults (instance type, alarms, cooldowns, ...) are CDK-only and moved to the constructs
(``mistral_endpoint.defaults.DEFAULTS``), which read these from the contract. This module stays until
``config.py`` reads the contract; it holds no value of its own.
"""

from __future__ import annotations

from .contract import RUNTIME_DEFAULTS as DEFAULTS
from .contract import RuntimeDefaults as Defaults

__all__ = ["DEFAULTS", "Defaults"]
