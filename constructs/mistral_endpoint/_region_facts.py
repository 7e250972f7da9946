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

#: TGI regions where CloudFormation offers AWS::SageMaker::InferenceComponent, which scale-to-zero mode needs
#: (CloudFormation's per-region resource schemas, as cfn-lint 1.58 ships them; tests/test_regions.py holds this
#: set to them).
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
