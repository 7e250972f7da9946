"""Where the stack can run, and why a region is refused: the facts and rules synth and preflight share.

The facts: where the TGI image is published (``tgi_images``), which regions lack Lambda function URLs or
CloudFormation's inference components, where AWS publishes the Lambda Web Adapter layer. The rules: each
:class:`RegionRule` is a reason the stack cannot run in some regions, with its words. The constructs check them
at synth when the stack is pinned to a region (``mistral_endpoint.regions.check_region``: a ``ConfigurationError`` "<stack> is
pinned to <region>, but <message>"), write them as CloudFormation rules when the template is region-agnostic
(``AssertDescription`` is the message), and ``mistral-invoke preflight`` shows the message in its row. So the
three refuse the same regions with the same reason.

Not the function's code (nothing on its request path imports this module): it ships with the runtime because
the runtime is the one CDK-free package both the constructs (from the copy their wheel carries) and the client
import. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import tgi_images

__all__ = [
    "FUNCTION_URLS",
    "FUNCTION_URL_UNSUPPORTED_REGIONS",
    "INFERENCE_COMPONENTS",
    "INFERENCE_COMPONENT_REGIONS",
    "LAYER_ARN_BY_REGION",
    "TGI_IMAGE",
    "TGI_REGIONS",
    "WEB_ADAPTER_LAYER",
    "RegionRule",
    "layer_arn",
    "pinned_refusal",
    "region_refusals",
    "region_rules",
]

#: Regions without Lambda function URLs (Lambda developer guide, checked 2026-11).
FUNCTION_URL_UNSUPPORTED_REGIONS: frozenset[str] = frozenset(
    {
        "ap-south-2",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ap-east-2",
        "ca-west-1",
        "eu-south-2",
        "eu-central-2",
        "il-central-1",
        "me-central-1",
    }
)
TGI_REGIONS: frozenset[str] = frozenset(tgi_images.ECR_ACCOUNT_BY_REGION)

#: TGI regions where CloudFormation offers AWS::SageMaker::InferenceComponent, which scale-to-zero mode needs
#: (CloudFormation's per-region resource schemas, as cfn-lint 1.58 ships them; tests/test_regions.py holds this
#: set to them). cfn-lint 1.58 ships no schema file for me-south-1 and answers for it with us-east-1's.
INFERENCE_COMPONENT_REGIONS: frozenset[str] = frozenset(
    {
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ca-central-1",
        "eu-central-1",
        "eu-isoe-west-1",
        "eu-north-1",
        "eu-west-1",
        "eu-west-2",
        "eusc-de-east-1",
        "me-central-1",
        "me-south-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-iso-east-1",
        "us-isob-east-1",
        "us-isof-east-1",
        "us-isof-south-1",
        "us-west-2",
    }
)

# --- the AWS Lambda Web Adapter layer (streaming mode) -----------------------------------------------------
# AWS publishes the pinned layer version from one account in the commercial partition and from one account per
# China region (awslabs/aws-lambda-web-adapter, README "Zip Packages"); none is listed for GovCloud, ISO or the
# European Sovereign Cloud. That it exists in every newer commercial region is not verified.

LAYER_NAME = "LambdaAdapterLayerX86"
LAYER_VERSION = 26
COMMERCIAL_ACCOUNT = "753240598075"
CHINA_ACCOUNTS = {"cn-north-1": "041581134020", "cn-northwest-1": "069767869989"}
#: Partitions where AWS publishes no Web Adapter layer, by region prefix.
UNPUBLISHED_PREFIXES = ("us-gov-", "us-iso", "eu-isoe-", "eusc-")


def layer_arn(region: str) -> str | None:
    """The pinned layer version's ARN in ``region``; None where AWS does not publish it."""
    if region.startswith(UNPUBLISHED_PREFIXES):
        return None
    if region.startswith("cn-"):
        account = CHINA_ACCOUNTS.get(region)
        return (
            None
            if account is None
            else f"arn:aws-cn:lambda:{region}:{account}:layer:{LAYER_NAME}:{LAYER_VERSION}"
        )
    return f"arn:aws:lambda:{region}:{COMMERCIAL_ACCOUNT}:layer:{LAYER_NAME}:{LAYER_VERSION}"


#: The layer's ARN in every region the stack admits (the TGI image is published and function URLs are
#: offered) where AWS publishes the layer.
LAYER_ARN_BY_REGION: dict[str, str] = {
    region: arn
    for region in sorted(TGI_REGIONS - FUNCTION_URL_UNSUPPORTED_REGIONS)
    if (arn := layer_arn(region)) is not None
}


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
    *,
    scale_to_zero: bool,
    streaming: bool,
    own_web_adapter_layer: bool = False,
    function_url: bool = True,
) -> tuple[RegionRule, ...]:
    """The rules a ``MistralEndpoint`` applies, in the order synth checks them: the hosting's (image, then
    inference components with ``scale_to_zero``), then the proxy's (function URLs unless the only door is the
    private API, then the Web Adapter layer with ``streaming``, unless ``web_adapter_layer`` brings your own
    copy)."""
    return (
        TGI_IMAGE,
        *((INFERENCE_COMPONENTS,) if scale_to_zero else ()),
        *((FUNCTION_URLS,) if function_url else ()),
        *((WEB_ADAPTER_LAYER,) if streaming and not own_web_adapter_layer else ()),
    )


def region_refusals(
    region: str,
    *,
    scale_to_zero: bool,
    streaming: bool,
    own_web_adapter_layer: bool = False,
    function_url: bool = True,
) -> list[RegionRule]:
    """Every rule that refuses ``region`` for a ``MistralEndpoint`` in this mode, in synth's order (synth
    stops at the first)."""
    rules = region_rules(
        scale_to_zero=scale_to_zero,
        streaming=streaming,
        own_web_adapter_layer=own_web_adapter_layer,
        function_url=function_url,
    )
    return [rule for rule in rules if not rule.admits(region)]


def pinned_refusal(stack_name: str, region: str, rule: RegionRule) -> str:
    """Synth's error for a stack pinned to a region the rule refuses."""
    return f"{stack_name} is pinned to {region}, but {rule.message}"
