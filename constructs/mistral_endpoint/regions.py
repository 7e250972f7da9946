"""Where the pattern can run: each region rule of the runtime's ``invoke_proxy.regions`` (CDK-free, read by
``mistral-invoke preflight`` too) checked at synth, or at deploy time."""

from __future__ import annotations

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, Stack
from constructs import Construct

from ._lambda import regions as _regions
from ._validation import ConfigurationError, is_unresolved

__all__ = [
    "FUNCTION_URL_UNSUPPORTED_REGIONS",
    "INFERENCE_COMPONENT_REGIONS",
    "TGI_REGIONS",
    "check_function_url_region",
    "check_inference_component_region",
    "check_region",
    "check_tgi_region",
]

FUNCTION_URL_UNSUPPORTED_REGIONS = _regions.FUNCTION_URL_UNSUPPORTED_REGIONS
INFERENCE_COMPONENT_REGIONS = _regions.INFERENCE_COMPONENT_REGIONS
TGI_REGIONS = _regions.TGI_REGIONS


def check_tgi_region(scope: Construct) -> None:
    """Fail synth in a region without the TGI 1.1 image; guard region-agnostic templates with a rule."""
    check_region(scope, _regions.TGI_IMAGE)


def check_inference_component_region(scope: Construct) -> None:
    """Fail synth where CloudFormation has no inference components (scale-to-zero mode); guard
    region-agnostic templates with a rule."""
    check_region(scope, _regions.INFERENCE_COMPONENTS)


def check_function_url_region(scope: Construct) -> None:
    """Fail synth in a region without Lambda function URLs; guard region-agnostic templates with a rule."""
    check_region(scope, _regions.FUNCTION_URLS)


def check_region(scope: Construct, rule: _regions.RegionRule) -> None:
    """A stack pinned to a region the rule refuses fails synth with the rule's message; a region-agnostic
    stack gets a CloudFormation rule (once) that refuses the deployment with the same message."""
    stack = Stack.of(scope)
    if not is_unresolved(stack.region):
        if not rule.admits(stack.region):
            raise ConfigurationError(_regions.pinned_refusal(stack.stack_name, stack.region, rule))
        return
    # A region-agnostic template learns its region at deploy time: a CloudFormation rule refuses the
    # deployment before any resource is created.
    if stack.node.try_find_child(rule.rule_id) is None:
        listed = Fn.condition_contains(sorted(rule.regions), Aws.REGION)
        condition = Fn.condition_not(listed) if rule.refuses_listed else listed
        CfnRule(
            stack,
            rule.rule_id,
            assertions=[CfnRuleAssertion(assert_=condition, assert_description=rule.message)],
        )
