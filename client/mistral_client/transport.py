"""Where the proxy is and how a request reaches it: signed, over urllib, buffered or read as it arrives.

The commands and ``mistral-bench`` locate the proxy here (``--url`` or a stack's ``InvokeUrl`` output), send
requests SigV4-signed (``signing``), read a stream's server-sent events with the runtime's own parser
(``invoke_proxy.sse``: one parser for both ends) and explain a failed answer in words a user can act on.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from invoke_proxy.sse import SseParser

from .errors import CliError
from .signing import NO_CREDENTIALS, FunctionUrlSigner, region_from_url

DEFAULT_TIMEOUT_SECONDS = 90.0  # above the proxy's 70 s read timeout, so the proxy's own 504 arrives first
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

FORBIDDEN_HELP = """\
The function URL refused the signed request (403{detail}).
Its AuthType is AWS_IAM: the calling identity needs BOTH of these IAM permissions on the function
(since October 2025, function URLs check both):
  - lambda:InvokeFunctionUrl   (condition "lambda:FunctionUrlAuthType": "AWS_IAM")
  - lambda:InvokeFunction
Also check that the request was signed for the function's region ({region}) and that the clock is right."""


@dataclass(frozen=True)
class Target:
    url: str  # the function URL (or a local dev server), ending with "/"
    region: str | None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class OpenResponse:
    """A successful response's head, its body still to read as it arrives (``response``, a file object)."""

    status: int
    headers: dict[str, str]
    response: Any

    def json(self) -> Any:
        return None  # the body is not read here: it is a stream


# --- finding the proxy ---------------------------------------------------------------------------------------


def create_client(session: Any, service: str, region: str | None) -> Any:
    return session.create_client(service, region_name=region)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs by key, from DescribeStacks."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise CliError(f"Could not read stack {stack_name!r}: {message}") from None
    if not stacks:
        raise CliError(f"Stack {stack_name!r} was not found.")
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def resolve_target(args: argparse.Namespace, session: Any) -> Target:
    """The proxy ``--url`` names, or the ``InvokeUrl`` output of ``--stack``."""
    if args.url:
        url = args.url if args.url.endswith("/") else args.url + "/"
        return Target(url, args.region or region_from_url(url) or session.get_config_variable("region"))
    if not args.stack:
        raise CliError(
            "Say where the proxy is: --url URL, or --stack STACK_NAME to read the URL from the stack."
        )
    region = args.region or session.get_config_variable("region")
    outputs = stack_outputs(create_client(session, "cloudformation", region), args.stack)
    if "InvokeUrl" not in outputs:
        raise CliError(
            f"Stack {args.stack!r} has no InvokeUrl output (outputs: {', '.join(sorted(outputs)) or 'none'})."
        )
    url = outputs["InvokeUrl"]
    url = url if url.endswith("/") else url + "/"
    return Target(url, args.region or outputs.get("Region") or region_from_url(url) or region)


# --- sending -------------------------------------------------------------------------------------------------


def _request(
    session: Any, target: Target, method: str, path: str, body: bytes | None
) -> urllib.request.Request:
    """The request, signed when there are credentials (a local dev server without them is called unsigned)."""
    url = target.url.rstrip("/") + path
    headers = {"Content-Type": "application/json"} if body is not None else {}
    loopback = urllib.parse.urlsplit(url).hostname in LOOPBACK_HOSTS
    if session.get_credentials() is not None and (target.region or not loopback):
        signer = FunctionUrlSigner(target.region, session=session)
        headers.update(signer.headers(method, url, body, headers.get("Content-Type")))
    elif not loopback:  # the local dev server does no authentication
        raise CliError(NO_CREDENTIALS)
    return urllib.request.Request(url, data=body, headers=headers, method=method)


def _unreachable(request: urllib.request.Request, exc: Exception) -> CliError:
    return CliError(f"Could not reach {request.full_url}: {getattr(exc, 'reason', exc)}")


def signed_request(
    session: Any, target: Target, method: str, path: str, body: bytes | None, timeout: float
) -> HttpAnswer:
    """Send one request, SigV4-signed for service ``lambda`` with the standard credential chain."""
    request = _request(session, target, method, path, body)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpAnswer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, dict(exc.headers.items()), exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _unreachable(request, exc) from None


def open_signed(
    session: Any, target: Target, method: str, path: str, body: bytes | None, timeout: float
) -> OpenResponse | HttpAnswer:
    """Like ``signed_request``, but a successful response is left open (read it as it arrives); an HTTP error
    is an ``HttpAnswer``."""
    request = _request(session, target, method, path, body)
    request.add_header("Accept", "text/event-stream, application/json")  # not signed: added after
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, dict(exc.headers.items()), exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise _unreachable(request, exc) from None
    return OpenResponse(response.status, dict(response.headers.items()), response)


def read_events(response: Any) -> Iterator[Any]:
    """The JSON of each server-sent event as it arrives (reads of any size; ``[DONE]`` ends the stream)."""
    parser = SseParser()
    while True:
        try:
            chunk = response.read1(65536)
        except (TimeoutError, OSError) as exc:
            raise CliError(f"The stream broke off: {exc}") from None
        events = parser.feed(chunk) if chunk else parser.close()
        for data in events:
            if data == "[DONE]":
                return
            try:
                yield json.loads(data)
            except ValueError:
                raise CliError(f"The stream sent an event that is not JSON: {data[:200]!r}") from None
        if not chunk:
            return


def explain_failure(answer: HttpAnswer, target: Target) -> str:
    """A failed answer in words: the 403's two IAM permissions, the proxy's error type, message and param."""
    payload = answer.json()
    if answer.status == 403:
        message = ""
        if isinstance(payload, dict):
            message = str(payload.get("Message") or payload.get("message") or "")
        return FORBIDDEN_HELP.format(detail=f": {message}" if message else "", region=target.region)
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        text = f"{answer.status} {error.get('type')}: {error.get('message')}"
        if error.get("param"):
            text += f" (param {error['param']})"
        if payload.get("request_id"):
            text += f" [request id {payload['request_id']}]"
    else:
        text = f"{answer.status}: {answer.body[:500].decode('utf-8', 'replace')}"
    retry_after = {k.lower(): v for k, v in answer.headers.items()}.get("retry-after")
    if retry_after:
        text += f"; retry after {retry_after} s"
    return text
