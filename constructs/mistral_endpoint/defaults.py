"""The pattern's defaults: one frozen object, shared with the invoke proxy (see ``Defaults``).

Importing this module loads neither aws-cdk-lib nor boto3, so ``mistral-invoke`` reads it too.
"""

from __future__ import annotations

from ._lambda.invoke_proxy.defaults import DEFAULTS, Defaults

__all__ = ["DEFAULTS", "Defaults"]
