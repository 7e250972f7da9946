"""The client of a Mistral endpoint deployment: ``mistral-invoke``, ``mistral-bench`` and the Python API.

Calling the invoke proxy through either door (the function URL, or the private API: AWS_IAM both) from Python
takes one object, ``DoorSigner`` (also named ``FunctionUrlSigner``): SigV4 signing with botocore's credential
chain, for the service the URL names, as the ``auth=`` of an httpx client (the OpenAI SDK's and LangChain's
``ChatOpenAI``'s ``http_client``) or of requests, or as headers for any other HTTP client::

    import httpx
    from openai import OpenAI
    from mistral_client import FunctionUrlSigner

    client = OpenAI(base_url=url + "v1", api_key="unused", http_client=httpx.Client(auth=FunctionUrlSigner()))

No CDK here, and nothing beyond botocore and the proxy's runtime (for its contract, and for ``serve``).
"""

from __future__ import annotations

from .errors import CliError
from .signing import DoorSigner, FunctionUrlSigner, make_session, region_from_url

__all__ = ["CliError", "DoorSigner", "FunctionUrlSigner", "make_session", "region_from_url"]
