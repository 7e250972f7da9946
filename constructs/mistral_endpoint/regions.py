"""Where the pattern can run: regions with the TGI 1.1 image, and regions with Lambda function URLs."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, ICfnRuleConditionExpression, Stack, Token
from constructs import Construct

from ._region_facts import FUNCTION_URL_UNSUPPORTED_REGIONS, INFERENCE_COMPONENT_REGIONS, TGI_REGIONS
from ._validation import ConfigurationError

__all__ = [
    "FUNCTION_URL_UNSUPPORTED_REGIONS",
    "INFERENCE_COMPONENT_REGIONS",
    "TGI_REGIONS",
    "check_function_url_region",
    "check_inference_component_region",
    "check_tgi_region",
]


def check_tgi_region(scope: Construct) -> None:
    """Fail synth in a region without the TGI 1.1 image; guard region-agnostic templates with a rule."""
    regions = sorted(TGI_REGIONS)
    message = f"the Hugging Face TGI 1.1 image is published in {', '.join(regions)}"
    _check(
        scope,
        "TgiImageRegion",
        allowed=lambda r: r in TGI_REGIONS,
        message=message,
        condition=Fn.condition_contains(regions, Aws.REGION),
    )


def check_inference_component_region(scope: Construct) -> None:
    """Fail synth where CloudFormation has no inference components (scale-to-zero mode); guard
    region-agnostic templates with a rule."""
    regions = sorted(INFERENCE_COMPONENT_REGIONS)
    message = (
        "scale_to_zero hosts the model as an inference component, which CloudFormation offers in "
        f"{', '.join(regions)}"
    )
    _check(
        scope,
        "InferenceComponentRegion",
        allowed=lambda r: r in INFERENCE_COMPONENT_REGIONS,
        message=message,
        condition=Fn.condition_contains(regions, Aws.REGION),
    )


def check_function_url_region(scope: Construct) -> None:
    """Fail synth in a region without Lambda function URLs; guard region-agnostic templates with a rule."""
    regions = sorted(FUNCTION_URL_UNSUPPORTED_REGIONS)
    message = f"Lambda function URLs are not offered in {', '.join(regions)}"
    _check(
        scope,
        "FunctionUrlRegion",
        allowed=lambda r: r not in FUNCTION_URL_UNSUPPORTED_REGIONS,
        message=message,
        condition=Fn.condition_not(Fn.condition_contains(regions, Aws.REGION)),
    )


def _check(
    scope: Construct,
    rule_id: str,
    *,
    allowed: Callable[[str], bool],
    message: str,
    condition: ICfnRuleConditionExpression,
) -> None:
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        if not allowed(stack.region):
            raise ConfigurationError(f"{stack.stack_name} is pinned to {stack.region}, but {message}")
        return
    # A region-agnostic template learns its region at deploy time: a CloudFormation rule refuses the
    # deployment before any resource is created.
    if stack.node.try_find_child(rule_id) is None:
        CfnRule(stack, rule_id, assertions=[CfnRuleAssertion(assert_=condition, assert_description=message)])
