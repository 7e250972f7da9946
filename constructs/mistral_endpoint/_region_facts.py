"""Deprecated import path: the region facts moved to the runtime package (``invoke_proxy.regions``), the one
CDK-free package the client's ``mistral-invoke preflight`` can import too. Import ``regions`` from
``._lambda`` instead; this module only re-exports it.
"""

from __future__ import annotations

from ._lambda import regions as _moved

CHINA_ACCOUNTS = _moved.CHINA_ACCOUNTS
COMMERCIAL_ACCOUNT = _moved.COMMERCIAL_ACCOUNT
FUNCTION_URL_UNSUPPORTED_REGIONS = _moved.FUNCTION_URL_UNSUPPORTED_REGIONS
INFERENCE_COMPONENT_REGIONS = _moved.INFERENCE_COMPONENT_REGIONS
LAYER_ARN_BY_REGION = _moved.LAYER_ARN_BY_REGION
LAYER_NAME = _moved.LAYER_NAME
LAYER_VERSION = _moved.LAYER_VERSION
TGI_REGIONS = _moved.TGI_REGIONS
UNPUBLISHED_PREFIXES = _moved.UNPUBLISHED_PREFIXES
layer_arn = _moved.layer_arn

__all__ = [
    "CHINA_ACCOUNTS",
    "COMMERCIAL_ACCOUNT",
    "FUNCTION_URL_UNSUPPORTED_REGIONS",
    "INFERENCE_COMPONENT_REGIONS",
    "LAYER_ARN_BY_REGION",
    "LAYER_NAME",
    "LAYER_VERSION",
    "TGI_REGIONS",
    "UNPUBLISHED_PREFIXES",
    "layer_arn",
]
