"""Region facts without the CDK: where the image, the resource types and the layer the stack needs exist.

``_region_rules`` turns them into the reasons a region is refused, read by the constructs at synth, by the
CloudFormation rules of region-agnostic templates and by ``mistral-invoke preflight``.
"""

from __future__ import annotations

from . import _tgi_images

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
TGI_REGIONS: frozenset[str] = frozenset(_tgi_images.ECR_ACCOUNT_BY_REGION)

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
