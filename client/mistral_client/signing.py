"""SigV4 signing for the invoke proxy's function URL (AuthType AWS_IAM), with botocore's credential chain.

``FunctionUrlSigner`` signs for service ``lambda``. It gives the headers to add to any request (``headers``), and
is also the ``auth=`` of an httpx client (the OpenAI Python SDK's and LangChain's ``ChatOpenAI``'s
``http_client``) and of ``requests``: a callable taking the request and returning it signed. botocore is
imported when a request is signed, so importing this module is instant.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from .errors import CliError

URL_REGION = re.compile(r"\.lambda-url\.([a-z0-9-]+)\.on\.aws$")
NO_CREDENTIALS = "No AWS credentials found (profile, environment, SSO or instance role); cannot sign."


def make_session(profile: str | None = None) -> Any:
    """A botocore session: the standard configuration and credential chain, or the named profile."""
    import botocore.session

    return botocore.session.Session(profile=profile)


def region_from_url(url: str) -> str | None:
    """The region of a function URL (``https://<id>.lambda-url.<region>.on.aws/``), or None for another URL."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = URL_REGION.search(host)
    return match.group(1) if match else None


class FunctionUrlSigner:
    """SigV4 signing (service ``lambda``) for an AWS_IAM function URL, with the standard credential chain.

    The ``auth=`` of an httpx client (the OpenAI Python SDK, LangChain's ``ChatOpenAI``) or of requests::

        OpenAI(base_url=url + "v1", api_key="unused", http_client=httpx.Client(auth=FunctionUrlSigner()))
        requests.post(url + "generate", json={"inputs": "Hi"}, auth=FunctionUrlSigner())

    Only host, content type and date are signed, so headers a client or proxy adds later cannot break the
    signature.
    """

    def __init__(self, region: str | None = None, profile: str | None = None, session: Any = None) -> None:
        self.session = session or make_session(profile)
        self.region = region

    def headers(self, method: str, url: str, body: bytes | None, content_type: str | None) -> dict[str, str]:
        """Headers to add: Authorization, X-Amz-Date and (temporary credentials) X-Amz-Security-Token."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self.session.get_credentials()
        if credentials is None:
            raise CliError(NO_CREDENTIALS)
        region = self.region or region_from_url(url) or self.session.get_config_variable("region")
        if not region:
            raise CliError("Cannot tell which region to sign for: pass --region.")
        request = AWSRequest(
            method=method,
            url=url,
            data=body or b"",
            headers={"Content-Type": content_type} if content_type else {},
        )
        SigV4Auth(credentials.get_frozen_credentials(), "lambda", region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() != "content-type"}

    def __call__(self, request: Any) -> Any:
        """Sign an httpx ``Request`` (its ``content``) or a requests ``PreparedRequest`` (its ``body``)."""
        body = getattr(request, "content", None)
        if body is None:
            body = getattr(request, "body", None)
        if isinstance(body, str):
            body = body.encode("utf-8")
        # OpenAI clients send "Authorization: Bearer <api_key>"; the SigV4 signature replaces it.
        request.headers.pop("Authorization", None)
        request.headers.update(
            self.headers(request.method, str(request.url), body, request.headers.get("Content-Type"))
        )
        return request
