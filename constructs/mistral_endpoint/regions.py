"""Where the pattern can run: each region rule of ``_region_rules`` checked at synth, or at deploy time."""

from __future__ import annotations

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn, Stack, Token
from constructs import Construct

from ._region_facts import FUNCTION_URL_UNSUPPORTED_REGIONS, INFERENCE_COMPONENT_REGIONS, TGI_REGIONS
from ._region_rules import FUNCTION_URLS, INFERENCE_COMPONENTS, TGI_IMAGE, RegionRule, pinned_refusal
from ._validation import ConfigurationError

__all__ = [
    "FUNCTION_URL_UNSUPPORTED_REGIONS",
    "INFERENCE_COMPONENT_REGIONS",
    "TGI_REGIONS",
    "check_function_url_region",
    "check_inference_component_region",
    "check_region",
    "check_tgi_region",
]


def check_tgi_region(scope: Construct) -> None:
    """Fail synth in a region without the TGI 1.1 image; guard region-agnostic templates with a rule."""
    check_region(scope, TGI_IMAGE)


def check_inference_component_region(scope: Construct) -> None:
    """Fail synth where CloudFormation has no inference components (scale-to-zero mode); guard
    region-agnostic templates with a rule."""
    check_region(scope, INFERENCE_COMPONENTS)


def check_function_url_region(scope: Construct) -> None:
    """Fail synth in a region without Lambda function URLs; guard region-agnostic templates with a rule."""
    check_region(scope, FUNCTION_URLS)


def check_region(scope: Construct, rule: RegionRule) -> None:
    """A stack pinned to a region the rule refuses fails synth with the rule's message; a region-agnostic
    stack gets a CloudFormation rule (once) that refuses the deployment with the same message."""
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        if not rule.admits(stack.region):
            raise ConfigurationError(pinned_refusal(stack.stack_name, stack.region, rule))
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
