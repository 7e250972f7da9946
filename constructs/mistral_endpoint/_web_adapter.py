"""The AWS Lambda Web Adapter layer: how the Python proxy streams through a RESPONSE_STREAM function URL.

Lambda's managed Python runtime cannot stream a response; the Web Adapter (awslabs/aws-lambda-web-adapter),
a layer whose ``/opt/bootstrap`` wraps the runtime (``AWS_LAMBDA_EXEC_WRAPPER``), starts the function's web app
(``run.sh``), forwards each function URL request to it over loopback HTTP and streams the answer back as it is
written (``AWS_LWA_INVOKE_MODE=response_stream``).

The layer is pinned (x86_64, matching the function's architecture). AWS publishes it from one account in the
commercial partition and from one account per China region ("Zip Packages" in the adapter's README); none is
published in GovCloud, ISO or the European Sovereign Cloud. That it exists in every newer commercial region is
not verified: a deployment there fails on a missing layer version, and ``web_adapter_layer`` takes your own copy.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Fn, Stack, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .regions import FUNCTION_URL_UNSUPPORTED_REGIONS, TGI_REGIONS
from .regions import _check as check_region

LAYER_NAME = "LambdaAdapterLayerX86"
LAYER_VERSION = 26
COMMERCIAL_ACCOUNT = "753240598075"
CHINA_ACCOUNTS = {"cn-north-1": "041581134020", "cn-northwest-1": "069767869989"}
# Partitions where AWS publishes no Web Adapter layer, by region prefix.
UNPUBLISHED_PREFIXES = ("us-gov-", "us-iso", "eu-isoe-", "eusc-")

#: The adapter's configuration on the function (with the handler ``run.sh``).
ENVIRONMENT = {
    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
    "AWS_LWA_INVOKE_MODE": "response_stream",
    "AWS_LWA_PORT": "8080",
    # The proxy's own health route: answered without calling SageMaker.
    "AWS_LWA_READINESS_CHECK_PATH": "/health",
    # Its default, spelled out: a compressed stream would be buffered by the compressor.
    "AWS_LWA_ENABLE_COMPRESSION": "false",
}


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


def web_adapter_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The layer for the stack's region: its ARN when the region is pinned (a clear synth error where it is
    not published), else looked up in a mapping of every admitted region, guarded by a CloudFormation rule."""
    regions = sorted(LAYER_ARN_BY_REGION)
    check_region(
        scope,
        "WebAdapterLayerRegion",
        allowed=lambda region: region in LAYER_ARN_BY_REGION,
        message=(
            f"the AWS Lambda Web Adapter layer that lets the Python proxy stream is published only in "
            f"{', '.join(regions)}: set streaming=False (context streaming=false) for the buffered proxy, or "
            "pass web_adapter_layer with your own copy of the layer"
        ),
        condition=Fn.condition_contains(regions, Aws.REGION),
    )
    region = Stack.of(scope).region
    if not Token.is_unresolved(region):
        arn = LAYER_ARN_BY_REGION[region]
    else:
        arn = CfnMapping(
            scope, "WebAdapterLayers", mapping={r: {"arn": a} for r, a in LAYER_ARN_BY_REGION.items()}
        ).find_in_map(Aws.REGION, "arn")
    return lambda_.LayerVersion.from_layer_version_arn(scope, "WebAdapterLayer", arn)
