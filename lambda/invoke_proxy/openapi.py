"""The proxy's HTTP API as an OpenAPI 3.1 document: ``openapi.json`` beside this module.

Kept by hand with the code it describes; ``tests/proxy/test_openapi.py`` validates the document and holds the
proxy's real answers (every route, success and error, buffered and streamed) to it. ``load_openapi`` is how
other packages read it (the client, to publish it at ``/openapi.json``); nothing on the Lambda's request path
imports this module.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

DOCUMENT = "openapi.json"


def load_openapi() -> dict[str, Any]:
    """The OpenAPI document, parsed (a new dict each call: callers may change theirs)."""
    # importlib.resources reads package data wherever the package lives: a checkout, a wheel, the Lambda asset.
    text = resources.files(__package__ or __name__).joinpath(DOCUMENT).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
