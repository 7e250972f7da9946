#!/usr/bin/env python3
"""The CDK app: `cdk synth MistralEndpointStack` / `cdk deploy MistralEndpointStack`."""

from __future__ import annotations

import aws_cdk as cdk

from stacks.compliance import add_compliance_packs
from stacks.config import StackConfig
from stacks.mistral_endpoint_stack import MistralEndpointStack


def build_app(app: cdk.App) -> cdk.App:
    config = StackConfig.from_context(app.node)
    env = cdk.Environment(region=config.region) if config.region else None
    MistralEndpointStack(app, "MistralEndpointStack", config=config, env=env)
    if app.node.try_get_context("compliance") != "off":
        add_compliance_packs(app)
    return app


if __name__ == "__main__":
    build_app(cdk.App()).synth()
