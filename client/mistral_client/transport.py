"""Where the proxy is and how a request reaches it: signed, over urllib, buffered or read as it arrives.

The commands, ``serve``'s forwarder and ``mistral-bench`` locate the proxy here (``--url``, or a stack's door:
its ``InvokeUrl`` or ``PrivateApiUrl`` output, ``--door``), send requests SigV4-signed for that door's service
(``signing``), read a stream's server-sent events with the runtime's own parser (``invoke_proxy.sse``: one
parser for both ends) and explain a failed answer in words a user can act on.
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

from invoke_proxy import contract
from invoke_proxy.sse import SseParser

from .errors import CliError
from .signing import (
    EXECUTE_API,
    LAMBDA,
    LOOPBACK_HOSTS,
    NO_CREDENTIALS,
    SERVICES,
    DoorSigner,
    is_vpce_host,
    region_from_url,
    service_from_url,
)

DEFAULT_TIMEOUT_SECONDS = 90.0  # above the proxy's 70 s read timeout, so the proxy's own 504 arrives first

#: A stack's doors: the name ``--door`` takes, the stack output holding its URL, the service it signs for.
#: InvokeUrl is the function URL's output; PrivateApiUrl the private REST API's stage URL (issue 16).
DOOR_OUTPUTS = contract.DOOR_OUTPUTS
DOOR_SERVICES = {"url": LAMBDA, "private": EXECUTE_API}

FORBIDDEN_HELP = """\
The function URL refused the signed request (403{detail}).
Its AuthType is AWS_IAM: the calling identity needs BOTH of these IAM permissions on the function
(since October 2025, function URLs check both):
  - lambda:InvokeFunctionUrl   (condition "lambda:FunctionUrlAuthType": "AWS_IAM")
  - lambda:InvokeFunction
Also check that the request was signed for the function's region ({region}) and that the clock is right."""

# execute-api:Invoke: API Gateway developer guide, "Control access for invoking an API"; the resource policy's
# aws:SourceVpce condition: "Private REST APIs in API Gateway" (a request through another endpoint is denied).
FORBIDDEN_HELP_API = """\
The API refused the signed request (403{detail}).
Its methods use AWS_IAM authorization: the calling identity needs execute-api:Invoke on them
(arn:aws:execute-api:{region}:<account>:<api-id>/<stage>/<METHOD>/<path>). A private API's resource policy also
admits only requests that arrive through the VPC endpoints it lists (aws:SourceVpce): call from a VPC whose
execute-api endpoint is on that list.
Also check that the request was signed for the API's region ({region}) and that the clock is right."""


@dataclass(frozen=True)
class Target:
    url: str  # the door's URL (a function URL, the private API's stage URL, a local server), ending with "/"
    region: str | None
    service: str = LAMBDA  # the SigV4 service the door checks
    api_id: str | None = None  # the private API's id, sent when the URL is a VPC endpoint's own host name


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


def add_door_arguments(
    group: Any, *, stack: bool = True, url: bool = True, url_help: str | None = None
) -> None:
    """Where the door is and how to sign for it: ``--url`` and ``--stack`` (unless the caller adds its own),
    ``--door``, ``--service``, ``--api-id``: the same flags for the calling commands, ``serve`` and
    ``mistral-bench``."""
    if url:
        group.add_argument(
            "--url",
            default=argparse.SUPPRESS,
            help=url_help
            or "the door's URL: the function URL or the private API's stage URL (or a local server)",
        )
    if stack:
        group.add_argument(
            "--stack",
            default=argparse.SUPPRESS,
            help="read the URL from this stack's outputs (InvokeUrl or PrivateApiUrl, see --door)",
        )
    group.add_argument(
        "--door",
        choices=list(DOOR_OUTPUTS),
        default=argparse.SUPPRESS,
        help="with --stack: url, the function URL (output InvokeUrl), or private, the private API (output "
        "PrivateApiUrl) (default: the function URL when the stack has one, else the private API)",
    )
    group.add_argument(
        "--service",
        choices=list(SERVICES),
        default=argparse.SUPPRESS,
        help="SigV4 service to sign for (default: from the URL: lambda for *.lambda-url.*, execute-api for "
        "*.execute-api.*); needed for any other host name",
    )
    group.add_argument(
        "--api-id",
        default=argparse.SUPPRESS,
        help="the private API's id, needed when --url is a VPC endpoint's own host name (*.vpce.amazonaws.com)",
    )


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def door_url(outputs: dict[str, str], stack: str, door: str | None) -> tuple[str, str]:
    """(door, URL): the door ``--door`` names, else the function URL when the stack has one, else the private
    API; a clear error naming the stack's doors when the one asked for is absent."""
    doors = [name for name, key in DOOR_OUTPUTS.items() if key in outputs]
    listed = ", ".join(f"{name} ({DOOR_OUTPUTS[name]})" for name in doors)
    if door is None:
        if not doors:
            raise CliError(
                f"Stack {stack!r} has no door: no InvokeUrl output (the function URL) and no PrivateApiUrl "
                f"output (the private API) (outputs: {', '.join(sorted(outputs)) or 'none'})."
            )
        door = doors[0]
    elif door not in doors:
        raise CliError(
            f"Stack {stack!r} has no {door} door (no {DOOR_OUTPUTS[door]} output); its doors: {listed or 'none'}."
            + (f" Pass --door {doors[0]}." if doors else "")
        )
    return door, _with_slash(outputs[DOOR_OUTPUTS[door]])


def _checked_service(url: str, service: str | None, api_id: str | None) -> str:
    """The door's signing service, and the API id a VPC endpoint's host name needs, checked before any call."""
    resolved = service_from_url(url, service)
    if is_vpce_host(url) and not api_id:
        raise CliError(
            f"{urllib.parse.urlsplit(url).hostname} is a VPC endpoint's own host name, which does not say which "
            "API to call: pass --api-id with the private API's id (sent as x-apigw-api-id)."
        )
    return resolved


def resolve_target(args: argparse.Namespace, session: Any) -> Target:
    """The door ``--url`` names, or the ``--stack``'s door (``--door url|private``: its ``InvokeUrl`` or
    ``PrivateApiUrl`` output), with the service to sign for: ``--service``, else the door's."""
    service, api_id = getattr(args, "service", None), getattr(args, "api_id", None)
    door = getattr(args, "door", None)
    if args.url:
        if door:
            raise CliError(
                "--door chooses between a stack's doors (with --stack); with --url the URL is the door "
                "(and --service says which, for a host that does not)."
            )
        url = _with_slash(args.url)
        service = _checked_service(url, service, api_id)
        region = args.region or region_from_url(url) or session.get_config_variable("region")
        return Target(url, region, service, api_id)
    if not args.stack:
        raise CliError(
            "Say where the proxy is: --url URL, or --stack STACK_NAME to read the URL from the stack."
        )
    region = args.region or session.get_config_variable("region")
    outputs = stack_outputs(create_client(session, "cloudformation", region), args.stack)
    door, url = door_url(outputs, args.stack, door)
    service = _checked_service(url, service or DOOR_SERVICES[door], api_id)
    region = args.region or outputs.get("Region") or region_from_url(url) or region
    return Target(url, region, service, api_id)


# --- sending -------------------------------------------------------------------------------------------------


def signer_for(session: Any, target: Target) -> DoorSigner | None:
    """The door's signer when there are credentials; None for a local server without credentials or a region
    (the local dev server does no authentication); a remote door without credentials is an error."""
    loopback = urllib.parse.urlsplit(target.url).hostname in LOOPBACK_HOSTS
    if session.get_credentials() is not None and (target.region or not loopback):
        return DoorSigner(target.region, session=session, service=target.service, api_id=target.api_id)
    if not loopback:
        raise CliError(NO_CREDENTIALS)
    return None


def join(target: Target, path: str) -> str:
    """The URL of route ``path`` behind the door: under the door's own path, so a private API's stage
    (``https://<api-id>.execute-api.<region>.amazonaws.com/prod/``) stays in front of the route."""
    return target.url.rstrip("/") + path


def _request(
    session: Any, target: Target, method: str, path: str, body: bytes | None
) -> urllib.request.Request:
    """The request, signed when there are credentials (``signer_for``)."""
    url = join(target, path)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    signer = signer_for(session, target)
    if signer is not None:
        headers.update(signer.headers(method, url, body, headers.get("Content-Type")))
    return urllib.request.Request(url, data=body, headers=headers, method=method)


def _unreachable(request: urllib.request.Request, exc: Exception) -> CliError:
    return CliError(f"Could not reach {request.full_url}: {getattr(exc, 'reason', exc)}")


def signed_request(
    session: Any, target: Target, method: str, path: str, body: bytes | None, timeout: float
) -> HttpAnswer:
    """Send one request, SigV4-signed for the door's service with the standard credential chain."""
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
    """A failed answer in words: what the door's 403 needs (a function URL's two IAM permissions, an API's
    execute-api:Invoke and VPC endpoint), the proxy's error type, message and param."""
    payload = answer.json()
    if answer.status == 403:
        message = ""
        if isinstance(payload, dict):
            message = str(payload.get("Message") or payload.get("message") or "")
        help_text = FORBIDDEN_HELP_API if target.service == EXECUTE_API else FORBIDDEN_HELP
        return help_text.format(detail=f": {message}" if message else "", region=target.region)
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
