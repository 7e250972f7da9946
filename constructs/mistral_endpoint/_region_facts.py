"""Region facts without the CDK: checked by the constructs at synth and by `mistral-invoke preflight`."""

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
