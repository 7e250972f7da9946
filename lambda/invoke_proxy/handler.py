"""Lambda entry point (handler string ``invoke_proxy.handler.handler``).

Configuration and the SageMaker client are created once per container, at import: a misconfigured function
fails its init with the configuration error's message.
"""

from __future__ import annotations

import os
from typing import Any

# The SageMaker client's module (and with it boto3) first: measured with scripts/bench_proxy.py, the cold start
# is 4-8 ms longer when boto3 loads after the proxy's own modules, deep in their import chain.
from .sagemaker import create_client  # isort: split

from .config import load_config
from .core import Proxy
from .function_url import handle_event

CONFIG = load_config(os.environ)
PROXY = Proxy(CONFIG, create_client(CONFIG))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_event(PROXY, event, context)
