"""Deprecated import path: the region rules moved to the runtime package (``invoke_proxy.regions``), the one
CDK-free package the client's ``mistral-invoke preflight`` can import too. Import ``regions`` from
``._lambda`` instead; this module only re-exports it.
"""

from __future__ import annotations

from ._lambda import regions as _moved

FUNCTION_URLS = _moved.FUNCTION_URLS
INFERENCE_COMPONENTS = _moved.INFERENCE_COMPONENTS
TGI_IMAGE = _moved.TGI_IMAGE
WEB_ADAPTER_LAYER = _moved.WEB_ADAPTER_LAYER
RegionRule = _moved.RegionRule
pinned_refusal = _moved.pinned_refusal
region_refusals = _moved.region_refusals
region_rules = _moved.region_rules

__all__ = [
    "FUNCTION_URLS",
    "INFERENCE_COMPONENTS",
    "TGI_IMAGE",
    "WEB_ADAPTER_LAYER",
    "RegionRule",
    "pinned_refusal",
    "region_refusals",
    "region_rules",
]
