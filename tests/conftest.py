"""Fixtures for the stack tests: each variant is synthesized once per session, compliance packs on."""

from __future__ import annotations

from typing import Any

import pytest
from synth_helpers import VARIANTS, template_of


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The default MistralEndpointStack template (cdk.json context, compliance packs clean)."""
    return template_of("default")


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def any_template(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every variant's template, for rules that must hold in all of them."""
    return template_of(request.param)
