"""SigV4 signing for the proxy's doors (AuthType AWS_IAM), with botocore's credential chain.

A door is a way in to the proxy: the Lambda function URL or the private REST API (API Gateway). Each checks a
SigV4 signature for its own service name, and the URL says which door it is:

- ``https://<id>.lambda-url.<region>.on.aws/``: a function URL, service ``lambda``;
- ``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/`` (regional, or a private API through private
  DNS), ``https://<api-id>-<vpce-id>.execute-api.<region>.amazonaws.com/<stage>/`` (a private API through its
  Route 53 alias) and ``https://<vpce-dns>.execute-api.<region>.vpce.amazonaws.com/<stage>/`` (a VPC endpoint's
  own host name, which needs the API's id in an ``x-apigw-api-id`` header): API Gateway, service ``execute-api``.

All three API Gateway forms are the API Gateway developer guide's, "Invoke a private API"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-test-invoke-url.html).
A loopback URL (a local stand-in) is signed as a function URL; any other host is refused unless the service is
given (``service=``, ``--service``), since a wrong guess would only come back as a 403.

``DoorSigner`` gives the headers to add to any request (``headers``), and is also the ``auth=`` of an httpx
client (the OpenAI Python SDK's and LangChain's ``ChatOpenAI``'s ``http_client``) and of ``requests``: a
callable taking the request and returning it signed. botocore is imported when a request is signed, so
importing this module is instant.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from .errors import CliError

LAMBDA = "lambda"
EXECUTE_API = "execute-api"
SERVICES = (LAMBDA, EXECUTE_API)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
FUNCTION_URL_HOST = re.compile(r"\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws$")
EXECUTE_API_HOST = re.compile(r"\.execute-api\.(?P<region>[a-z0-9-]+)\.(?P<vpce>vpce\.)?amazonaws\.com$")
# The header naming the API when the host is a VPC endpoint's own name (guide page above, "endpoint-specific
# public DNS hostnames"). The guide's other way, a Host header naming the API, cannot be signed by a client
# that signs the host it connects to (okigan/awscurl#68: that signature fails, this header works).
API_ID_HEADER = "x-apigw-api-id"
NO_CREDENTIALS = "No AWS credentials found (profile, environment, SSO or instance role); cannot sign."


def make_session(profile: str | None = None) -> Any:
    """A botocore session: the standard configuration and credential chain, or the named profile."""
    import botocore.session

    return botocore.session.Session(profile=profile)


def _host(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def region_from_url(url: str) -> str | None:
    """The region a function URL or an API Gateway URL names, or None for another URL."""
    host = _host(url)
    match = FUNCTION_URL_HOST.search(host) or EXECUTE_API_HOST.search(host)
    return match.group("region") if match else None


def is_vpce_host(url: str) -> bool:
    """Whether the URL's host is a VPC endpoint's own name (``….execute-api.<region>.vpce.amazonaws.com``)."""
    match = EXECUTE_API_HOST.search(_host(url))
    return bool(match and match.group("vpce"))


def service_from_url(url: str, service: str | None = None) -> str:
    """The SigV4 service name for a door's URL: ``service`` when given, else what the host says."""
    if service:
        if service not in SERVICES:
            raise CliError(f"Unknown signing service {service!r}: the doors are {' and '.join(SERVICES)}.")
        return service
    host = _host(url)
    if FUNCTION_URL_HOST.search(host) or host in LOOPBACK_HOSTS:
        return LAMBDA
    if EXECUTE_API_HOST.search(host):
        return EXECUTE_API
    raise CliError(
        f"Cannot tell which door {host or url!r} is, so not which service to sign for: a function URL is "
        "<id>.lambda-url.<region>.on.aws and an API Gateway API <id>.execute-api.<region>.amazonaws.com. For "
        "another name (your own domain in front of one), say which: --service lambda or --service execute-api."
    )


class DoorSigner:
    """SigV4 signing for either door of the proxy, with the standard credential chain: service ``lambda`` for
    a function URL, ``execute-api`` for the private (or any API Gateway) API, from each request's URL.

    The ``auth=`` of an httpx client (the OpenAI Python SDK, LangChain's ``ChatOpenAI``) or of requests::

        OpenAI(base_url=url + "v1", api_key="unused", http_client=httpx.Client(auth=DoorSigner()))
        requests.post(url + "generate", json={"inputs": "Hi"}, auth=DoorSigner())

    ``region``: default the URL's, else the profile's. ``service``: ``lambda`` or ``execute-api``, for a URL
    whose host does not say (your own domain); default from the URL. ``api_id``: the private API's id, needed
    (and sent as ``x-apigw-api-id``) only when the URL is a VPC endpoint's own host name. Only host, content
    type, date and that header are signed, so headers a client or proxy adds later cannot break the signature.
    """

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        session: Any = None,
        *,
        service: str | None = None,
        api_id: str | None = None,
    ) -> None:
        self.session = session or make_session(profile)
        self.region = region
        self.service = service_from_url("", service) if service else None  # an unknown name fails here
        self.api_id = api_id

    def scope(self, url: str) -> tuple[str, str]:
        """(service, region) a request to ``url`` is signed for."""
        service = service_from_url(url, self.service)
        region = self.region or region_from_url(url) or self.session.get_config_variable("region")
        if not region:
            raise CliError("Cannot tell which region to sign for: pass --region.")
        return service, region

    def headers(self, method: str, url: str, body: bytes | None, content_type: str | None) -> dict[str, str]:
        """Headers to add: Authorization, X-Amz-Date, (temporary credentials) X-Amz-Security-Token and, for a
        VPC endpoint's host name, x-apigw-api-id."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        service, region = self.scope(url)
        extra: dict[str, str] = {}
        if is_vpce_host(url):
            if not self.api_id:
                raise CliError(
                    f"{_host(url)} is a VPC endpoint's own host name, which does not say which API to call: "
                    "pass --api-id (api_id=) with the private API's id, or call the API's own URL, "
                    "https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/ (the stack's PrivateApiUrl)."
                )
            extra[API_ID_HEADER] = self.api_id
        credentials = self.session.get_credentials()
        if credentials is None:
            raise CliError(NO_CREDENTIALS)
        request = AWSRequest(
            method=method,
            url=url,
            data=body or b"",
            headers={**({"Content-Type": content_type} if content_type else {}), **extra},
        )
        SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(request)
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


#: The signer's earlier name, from when the function URL was the only door: the same class.
FunctionUrlSigner = DoorSigner
