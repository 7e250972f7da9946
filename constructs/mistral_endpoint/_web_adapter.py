"""The AWS Lambda Web Adapter layer: how the Python proxy streams through a RESPONSE_STREAM function URL.

Lambda's managed Python runtime cannot stream a response; the Web Adapter (awslabs/aws-lambda-web-adapter),
a layer whose ``/opt/bootstrap`` wraps the runtime (``AWS_LAMBDA_EXEC_WRAPPER``), starts the function's web app
(``run.sh``), forwards each function URL request to it over loopback HTTP and streams the answer back as it is
written (``AWS_LWA_INVOKE_MODE=response_stream``).

The layer is pinned (x86_64, matching the function's architecture). AWS publishes it from one account in the
commercial partition and from one account per China region ("Zip Packages" in the adapter's README); none is
published in GovCloud, ISO or the European Sovereign Cloud. That it exists in every newer commercial region is
not verified: a deployment there fails on a missing layer version, and ``web_adapter_layer`` takes your own copy.
The ARNs and the region rule live in the runtime's ``invoke_proxy.regions`` (CDK-free, read by preflight too).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ._lambda import contract
from ._lambda import regions as _regions
from .regions import check_region

__all__ = [
    "CHINA_ACCOUNTS",
    "COMMERCIAL_ACCOUNT",
    "ENVIRONMENT",
    "LAYER_ARN_BY_REGION",
    "LAYER_NAME",
    "LAYER_VERSION",
    "UNPUBLISHED_PREFIXES",
    "layer_arn",
    "web_adapter_layer",
]

CHINA_ACCOUNTS = _regions.CHINA_ACCOUNTS
COMMERCIAL_ACCOUNT = _regions.COMMERCIAL_ACCOUNT
LAYER_ARN_BY_REGION = _regions.LAYER_ARN_BY_REGION
LAYER_NAME = _regions.LAYER_NAME
LAYER_VERSION = _regions.LAYER_VERSION
UNPUBLISHED_PREFIXES = _regions.UNPUBLISHED_PREFIXES
layer_arn = _regions.layer_arn

#: The adapter's configuration on the function (with the handler ``run.sh``): the contract's, which the runtime
#: and the tests' imitation of the adapter read too.
ENVIRONMENT = contract.WEB_ADAPTER_ENVIRONMENT


def web_adapter_layer(scope: Construct) -> lambda_.ILayerVersion:
    """The layer for the stack's region: its ARN when the region is pinned (a clear synth error where it is
    not published), else looked up in a mapping of every admitted region, guarded by a CloudFormation rule."""
    check_region(scope, _regions.WEB_ADAPTER_LAYER)
    region = Stack.of(scope).region
    if not Token.is_unresolved(region):
        arn = LAYER_ARN_BY_REGION[region]
    else:
        arn = CfnMapping(
            scope, "WebAdapterLayers", mapping={r: {"arn": a} for r, a in LAYER_ARN_BY_REGION.items()}
        ).find_in_map(Aws.REGION, "arn")
    return lambda_.LayerVersion.from_layer_version_arn(scope, "WebAdapterLayer", arn)
