#!/usr/bin/env python3
"""The CDK app: `cdk synth MistralEndpointStack` / `cdk deploy MistralEndpointStack`."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from mistral_endpoint import ConfigurationError
from stacks.compliance import add_compliance_packs
from stacks.config import StackConfig, in_context_terms
from stacks.mistral_endpoint_stack import MistralEndpointStack


def build_app(app: cdk.App) -> cdk.App:
    """The stack the context describes; a ConfigurationError names the context key and value to fix."""
    config = StackConfig.from_context(app.node)
    env = cdk.Environment(region=config.region) if config.region else None
    try:
        MistralEndpointStack(app, "MistralEndpointStack", config=config, env=env)
    except ConfigurationError as error:
        raise in_context_terms(error, app.node) from None
    if app.node.try_get_context("compliance") != "off":
        add_compliance_packs(app)
    return app


def main(app: cdk.App | None = None) -> int:
    """Synthesize; a configuration mistake is one line on stderr and exit code 1, not a traceback."""
    try:
        build_app(app or cdk.App()).synth()
    except ConfigurationError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
