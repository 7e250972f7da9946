"""The client of a Mistral endpoint deployment: ``mistral-invoke``, ``mistral-bench`` and the Python API.

Calling the invoke proxy's function URL (AuthType AWS_IAM) from Python takes one object, ``FunctionUrlSigner``:
SigV4 signing with botocore's credential chain, as the ``auth=`` of an httpx client (the OpenAI SDK's and
LangChain's ``ChatOpenAI``'s ``http_client``) or of requests, or as headers for any other HTTP client::

    import httpx
    from openai import OpenAI
    from mistral_client import FunctionUrlSigner

    client = OpenAI(base_url=url + "v1", api_key="unused", http_client=httpx.Client(auth=FunctionUrlSigner()))

No CDK here, and nothing beyond botocore and the proxy's runtime (for its contract, and for ``serve``).
"""

from __future__ import annotations

from .errors import CliError
from .signing import FunctionUrlSigner, make_session, region_from_url

__all__ = ["CliError", "FunctionUrlSigner", "make_session", "region_from_url"]
