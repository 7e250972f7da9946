#!/usr/bin/env python3
"""The CDK app: `cdk synth MistralEndpointStack` / `cdk deploy MistralEndpointStack`."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from stacks import prefetch

# The project's modules are imported in build_app, not here: their aws-cdk-lib imports overlap the packs' load
# there (stacks/prefetch.py).


def build_app(app: cdk.App) -> cdk.App:
    """The stack the context describes; a ConfigurationError names the context key and value to fix."""
    imports = prefetch.start()
    if app.node.try_get_context("compliance") != "off":
        from stacks.compliance import add_compliance_packs

        add_compliance_packs(app)  # the Node process loads cdk-nag while the thread imports
    imports.join()
    from mistral_endpoint import ConfigurationError
    from stacks.config import StackConfig, in_context_terms
    from stacks.mistral_endpoint_stack import MistralEndpointStack

    config = StackConfig.from_context(app.node)
    env = cdk.Environment(region=config.region) if config.region else None
    try:
        MistralEndpointStack(app, "MistralEndpointStack", config=config, env=env)
    except ConfigurationError as error:
        raise in_context_terms(error, app.node) from None
    return app


def _configuration_error() -> type[Exception]:
    from mistral_endpoint import ConfigurationError

    return ConfigurationError


def main(app: cdk.App | None = None) -> int:
    """Synthesize; a configuration mistake is one line on stderr and exit code 1, not a traceback."""
    try:
        build_app(app or cdk.App()).synth()
    except _configuration_error() as error:  # evaluated only when something was raised
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
