"""Why a region is refused: the one list that synth, region-agnostic templates and preflight all read.

Each :class:`RegionRule` is a reason the stack cannot run in some regions, with its words. The constructs
check it at synth when the stack is pinned to a region (``regions.check_region``: a ``ConfigurationError``
"<stack> is pinned to <region>, but <message>"), write it as a CloudFormation rule when the template is
region-agnostic (``AssertDescription`` is the message), and ``mistral-invoke preflight`` shows the message in
its row. So the three refuse the same regions with the same reason. No CDK here: the CLI reads it without
aws-cdk-lib.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._region_facts import (
    FUNCTION_URL_UNSUPPORTED_REGIONS,
    INFERENCE_COMPONENT_REGIONS,
    LAYER_ARN_BY_REGION,
    TGI_REGIONS,
)

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


@dataclass(frozen=True)
class RegionRule:
    """One reason a region is refused."""

    #: Logical id of the CloudFormation rule a region-agnostic template carries.
    rule_id: str
    #: Preflight's row.
    check: str
    #: The regions the rule names: those it admits, or (``refuses_listed``) those it refuses.
    regions: frozenset[str]
    #: The reason, word for word: the rule's AssertDescription, the end of synth's error, preflight's advice.
    message: str
    #: Preflight's "needed" column.
    needed: str
    #: Preflight's "found" column for a refused region: "<missing> <region>".
    missing: str
    refuses_listed: bool = False

    def admits(self, region: str) -> bool:
        return (region in self.regions) != self.refuses_listed


def _listed(regions: Iterable[str]) -> str:
    return ", ".join(sorted(regions))


TGI_IMAGE = RegionRule(
    rule_id="TgiImageRegion",
    check="TGI 1.1 image in region",
    regions=TGI_REGIONS,
    message=f"the Hugging Face TGI 1.1 image is published in {_listed(TGI_REGIONS)}",
    needed="published in the region",
    missing="not published in",
)
INFERENCE_COMPONENTS = RegionRule(
    rule_id="InferenceComponentRegion",
    check="inference components in CloudFormation (scaleToZero)",
    regions=INFERENCE_COMPONENT_REGIONS,
    message=(
        "scale_to_zero hosts the model as an inference component, which CloudFormation offers in "
        f"{_listed(INFERENCE_COMPONENT_REGIONS)}"
    ),
    needed="AWS::SageMaker::InferenceComponent in the region",
    missing="not offered in",
)
FUNCTION_URLS = RegionRule(
    rule_id="FunctionUrlRegion",
    check="Lambda function URLs",
    regions=FUNCTION_URL_UNSUPPORTED_REGIONS,
    refuses_listed=True,
    message=f"Lambda function URLs are not offered in {_listed(FUNCTION_URL_UNSUPPORTED_REGIONS)}",
    needed="offered in the region",
    missing="not offered in",
)
WEB_ADAPTER_LAYER = RegionRule(
    rule_id="WebAdapterLayerRegion",
    check="Lambda Web Adapter layer (streaming)",
    regions=frozenset(LAYER_ARN_BY_REGION),
    message=(
        "the AWS Lambda Web Adapter layer that lets the Python proxy stream is published only in "
        f"{_listed(LAYER_ARN_BY_REGION)}: set streaming=False (context streaming=false) for the buffered proxy, "
        "or pass web_adapter_layer with your own copy of the layer"
    ),
    needed="published in the region",
    missing="not published in",
)


def region_rules(
    *, scale_to_zero: bool, streaming: bool, own_web_adapter_layer: bool = False
) -> tuple[RegionRule, ...]:
    """The rules a ``MistralEndpoint`` applies, in the order synth checks them: the hosting's (image, then
    inference components with ``scale_to_zero``), then the proxy's (function URLs, then the Web Adapter layer
    with ``streaming``, unless ``web_adapter_layer`` brings your own copy)."""
    return (
        TGI_IMAGE,
        *((INFERENCE_COMPONENTS,) if scale_to_zero else ()),
        FUNCTION_URLS,
        *((WEB_ADAPTER_LAYER,) if streaming and not own_web_adapter_layer else ()),
    )


def region_refusals(
    region: str, *, scale_to_zero: bool, streaming: bool, own_web_adapter_layer: bool = False
) -> list[RegionRule]:
    """Every rule that refuses ``region`` for a ``MistralEndpoint`` in this mode, in synth's order (synth
    stops at the first)."""
    rules = region_rules(
        scale_to_zero=scale_to_zero, streaming=streaming, own_web_adapter_layer=own_web_adapter_layer
    )
    return [rule for rule in rules if not rule.admits(region)]


def pinned_refusal(stack_name: str, region: str, rule: RegionRule) -> str:
    """Synth's error for a stack pinned to a region the rule refuses."""
    return f"{stack_name} is pinned to {region}, but {rule.message}"
