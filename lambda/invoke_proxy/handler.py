"""Lambda entry point (handler string ``invoke_proxy.handler.handler``).

Configuration and the SageMaker client are created once per container, at import: a misconfigured function
fails its init with the configuration error's message.
"""

from __future__ import annotations

import os
from typing import Any

from .config import load_config
from .core import Proxy
from .function_url import handle_event
from .sagemaker import create_client

CONFIG = load_config(os.environ)
PROXY = Proxy(CONFIG, create_client(CONFIG))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_event(PROXY, event, context)
