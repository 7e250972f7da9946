#!/usr/bin/env python3
"""The CDK app: `cdk synth MistralEndpointStack` / `cdk deploy MistralEndpointStack`."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # Before aws_cdk is imported: the process's own temporary directory, and CDK's validation engine built on a
    # thread while Python imports the project below (stacks/app_process.py).
    from stacks.app_process import AppProcess

    _PROCESS = AppProcess()

# None of these imports may call into Node while the engine builds (tests/test_app_process.py).
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


def main(
    app: cdk.App | None = None, validation_engine: cdk.CloudFormationValidatePlugin | None = None
) -> int:
    """Synthesize; a configuration mistake is one line on stderr and exit code 1, not a traceback.

    `validation_engine`: CDK's CloudFormation validation, already built (stacks/app_process.py), registered in
    place of the one aws-cdk-lib would build at synth."""
    try:
        app = build_app(app or cdk.App())
        # After the packs, where aws-cdk-lib puts its own: the report keeps its order.
        if validation_engine is not None:
            cdk.Validations.of(app).add_plugins(validation_engine)
        app.synth()
    except ConfigurationError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    _PROCESS.run(lambda engine: main(validation_engine=engine))
