"""Mistral 7B on a private, network-isolated Amazon SageMaker endpoint, as AWS CDK constructs.

The constructs are imported lazily, so importing the package (or its CDK-free modules: ``defaults``, the
runtime's copy in ``_lambda``) loads no aws-cdk-lib. The client tools are a distribution of their own,
``mistral-endpoint-client`` (``mistral_client``), and the proxy's runtime another, ``mistral-endpoint-runtime``
(``invoke_proxy``), of which this package carries a copy for the function's asset.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "MistralEndpoint": ".endpoint",
    "MistralModel": ".model",
    "IsolatedNetwork": ".network",
    "MistralModelEndpoint": ".hosting",
    "IMistralModelEndpoint": ".hosting",
    "DEFAULTS": ".defaults",
    "Defaults": ".defaults",
    "InvokeProxy": ".proxy",
    "PrivateApi": ".private_api",
    "ScalingSchedule": ".scaling",
    "MistralMonitoring": ".operations",
    "AlarmSettings": ".operations",
    "ConfigurationError": "._validation",
}
__all__ = [
    "DEFAULTS",
    "AlarmSettings",
    "ConfigurationError",
    "Defaults",
    "IMistralModelEndpoint",
    "InvokeProxy",
    "IsolatedNetwork",
    "MistralEndpoint",
    "MistralModel",
    "MistralModelEndpoint",
    "MistralMonitoring",
    "PrivateApi",
    "ScalingSchedule",
]

if TYPE_CHECKING:
    from ._validation import ConfigurationError
    from .defaults import DEFAULTS, Defaults
    from .endpoint import MistralEndpoint
    from .hosting import IMistralModelEndpoint, MistralModelEndpoint
    from .model import MistralModel
    from .network import IsolatedNetwork
    from .operations import AlarmSettings, MistralMonitoring
    from .private_api import PrivateApi
    from .proxy import InvokeProxy
    from .scaling import ScalingSchedule


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)
