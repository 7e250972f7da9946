"""``mistral-invoke``: a SigV4-signing client for the invoke proxy's function URL, and a local dev server.

No CDK here: the CLI needs only botocore (credentials, signing, the stack lookup) and the standard library;
botocore is imported when a command needs it, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, TypeVar

from . import preflight

# The Lambda asset's stdlib-only modules: JSON log lines (also the HTTP app's) and the server-sent events parser.
from ._lambda.invoke_proxy.json_logs import JsonLogFormatter
from ._lambda.invoke_proxy.sse import SseParser
from .defaults import DEFAULTS

DEFAULT_TIMEOUT_SECONDS = 90.0  # above the proxy's 70 s read timeout, so the proxy's own 504 arrives first
URL_REGION = re.compile(r"\.lambda-url\.([a-z0-9-]+)\.on\.aws$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

FORBIDDEN_HELP = """\
The function URL refused the signed request (403{detail}).
Its AuthType is AWS_IAM: the calling identity needs BOTH of these IAM permissions on the function
(since October 2025, function URLs check both):
  - lambda:InvokeFunctionUrl   (condition "lambda:FunctionUrlAuthType": "AWS_IAM")
  - lambda:InvokeFunction
Also check that the request was signed for the function's region ({region}) and that the clock is right."""


DISTRIBUTION = "mistral-endpoint"  # the package both commands ship in (pyproject.toml's project.name)


class CliError(Exception):
    """A failure with a message for the user; exits 1."""


def package_version() -> str:
    """The installed distribution's version; from a source tree that was never installed, says so."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return f"unknown ({DISTRIBUTION} is not installed: pip install -e . from the repository)"


class VersionAction(argparse.Action):
    """``--version``: prints ``<prog> <version>`` and exits 0. The version is looked up only when asked for,
    so every other command starts without reading the installed distributions' metadata."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the installed mistral-endpoint version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        sys.stdout.write(
            f"{parser.prog} {package_version()}\n"
        )  # on stdout, as argparse's own version action
        parser.exit()


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


# --- AWS plumbing ----------------------------------------------------------------------------------------


def make_session(profile: str | None) -> Any:
    import botocore.session

    return botocore.session.Session(profile=profile)


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


def region_from_url(url: str) -> str | None:
    host = urllib.parse.urlsplit(url).hostname or ""
    match = URL_REGION.search(host)
    return match.group(1) if match else None


def resolve_target(args: argparse.Namespace, session: Any) -> Target:
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


class FunctionUrlSigner:
    """SigV4 signing (service ``lambda``) for an AWS_IAM function URL, with the standard credential chain.

    Also usable as the ``auth=`` of an httpx-style client (a callable taking and returning the request),
    which is how the OpenAI Python client and LangChain's ChatOpenAI reach the proxy::

        OpenAI(base_url=url + "v1", api_key="unused", http_client=httpx2.Client(auth=FunctionUrlSigner()))

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
            raise CliError(
                "No AWS credentials found (profile, environment, SSO or instance role); cannot sign."
            )
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
        # OpenAI clients send "Authorization: Bearer <api_key>"; the SigV4 signature replaces it.
        request.headers.pop("Authorization", None)
        request.headers.update(
            self.headers(
                request.method, str(request.url), request.content, request.headers.get("Content-Type")
            )
        )
        return request


def signed_request(
    session: Any, target: Target, method: str, path: str, body: bytes | None, timeout: float
) -> HttpAnswer:
    """Send one request, SigV4-signed for service ``lambda`` with the standard credential chain."""
    url = target.url.rstrip("/") + path
    headers = {"Content-Type": "application/json"} if body is not None else {}
    host = urllib.parse.urlsplit(url).hostname
    loopback = host in LOOPBACK_HOSTS
    if session.get_credentials() is not None and (target.region or not loopback):
        signer = FunctionUrlSigner(target.region, session=session)
        headers.update(signer.headers(method, url, body, headers.get("Content-Type")))
    elif not loopback:  # the local dev server does no authentication
        raise CliError("No AWS credentials found (profile, environment, SSO or instance role); cannot sign.")
    http_request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            return HttpAnswer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, dict(exc.headers.items()), exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"Could not reach {url}: {reason}") from None


@dataclass(frozen=True)
class OpenResponse:
    """A successful response's head, its body still to read as it arrives (``response``, a file object)."""

    status: int
    headers: dict[str, str]
    response: Any

    def json(self) -> Any:
        return None  # the body is not read here: it is a stream


def open_signed(
    session: Any, target: Target, method: str, path: str, body: bytes | None, timeout: float
) -> OpenResponse | HttpAnswer:
    """Like ``signed_request``, but a successful response is left open (read it as it arrives); an HTTP error
    is an ``HttpAnswer``."""
    url = target.url.rstrip("/") + path
    headers = {"Content-Type": "application/json"} if body is not None else {}
    host = urllib.parse.urlsplit(url).hostname
    loopback = host in LOOPBACK_HOSTS
    if session.get_credentials() is not None and (target.region or not loopback):
        signer = FunctionUrlSigner(target.region, session=session)
        headers.update(signer.headers(method, url, body, headers.get("Content-Type")))
    elif not loopback:  # the local dev server does no authentication
        raise CliError("No AWS credentials found (profile, environment, SSO or instance role); cannot sign.")
    headers["Accept"] = "text/event-stream, application/json"  # not signed: added after the signature
    http_request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        response = urllib.request.urlopen(http_request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, dict(exc.headers.items()), exc.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"Could not reach {url}: {reason}") from None
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


# --- waiting for a model that scales up from zero --------------------------------------------------------

SCALING_UP = "model_scaling_up"  # the proxy's 503 while an inference component has no copy
DEFAULT_WAIT_SECONDS = 15 * 60.0  # the proxy says a wake takes about 5-10 minutes
DEFAULT_RETRY_AFTER_SECONDS = 30.0  # when the answer has no usable Retry-After
RETRY_AFTER_BOUNDS = (5.0, 120.0)  # a Retry-After is honoured within these bounds


class Answer(Protocol):
    """What the wait needs of an answer: a buffered ``HttpAnswer``, or a streaming response's head."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


A = TypeVar("A", bound=Answer)


def scaling_up_delay(answer: Answer) -> float | None:
    """Seconds to wait before the next try when ``answer`` is the proxy's 503 ``model_scaling_up``, else None."""
    if answer.status != 503:
        return None
    payload = answer.json()
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or error.get("type") != SCALING_UP:
        return None
    raw = {k.lower(): v for k, v in answer.headers.items()}.get("retry-after")
    try:
        seconds = float(raw) if raw is not None else DEFAULT_RETRY_AFTER_SECONDS
    except ValueError:  # an HTTP date, or garbage: the proxy sends seconds
        seconds = DEFAULT_RETRY_AFTER_SECONDS
    if not math.isfinite(seconds):
        seconds = DEFAULT_RETRY_AFTER_SECONDS
    low, high = RETRY_AFTER_BOUNDS
    return min(max(seconds, low), high)


def duration(seconds: float) -> str:
    """``2m10s``, ``15m0s``, ``45s``, ``1h5m0s``: whole seconds, rounded up so a wait never reads as 0s."""
    total = max(0, math.ceil(seconds - 1e-9))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def parse_wait(text: str) -> float:
    """``--wait``: seconds, or a number with s, m or h (``900``, ``90s``, ``15m``, ``1h``); 0 disables."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: use seconds or a duration like 90s, 15m or 1h")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def with_wake_wait(
    send: Callable[[], A],
    *,
    wait_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    progress: Callable[[str], None],
    describe: Callable[[A], str] = lambda answer: "",
) -> A:
    """Call ``send`` until its answer is not the proxy's ``model_scaling_up``, for at most ``wait_seconds``.

    Every request the CLI makes goes through here (buffered or streamed: ``send`` returns anything with a
    status, headers and ``json()`` of an error body). Waits honour the proxy's Retry-After (bounded), report on
    ``progress`` what is awaited and for how long, and never outlast ``wait_seconds``: the last try happens at
    the deadline. Returns the first other answer; raises ``CliError`` if the model is still waking at the
    deadline. With ``wait_seconds`` 0 the first answer is returned as it is.
    """
    started = clock()
    answer = send()
    delay = scaling_up_delay(answer)
    if delay is None or wait_seconds <= 0:
        return answer
    limit = duration(wait_seconds)
    progress(
        "The model is scaling up from zero instances (the proxy expects about 5-10 minutes); "
        f"waiting up to {limit} (--wait), Ctrl-C stops."
    )
    while delay is not None:
        elapsed = clock() - started
        remaining = wait_seconds - elapsed
        if remaining <= 0:
            detail = describe(answer)
            raise CliError(
                f"The model was still scaling up from zero after {duration(elapsed)} (--wait {limit})"
                + (f": {detail}" if detail else "")
                + ". It keeps starting: try again in a few minutes, or wait longer with --wait 30m."
            )
        pause = min(delay, remaining)
        progress(
            f"model scaling up from zero: waited {duration(elapsed)} of {limit}, next try in {duration(pause)}"
        )
        sleep(pause)
        answer = send()
        delay = scaling_up_delay(answer)
    progress(f"model answered after {duration(clock() - started)}")
    return answer


# --- commands --------------------------------------------------------------------------------------------


class Client:
    """What the commands share: where the proxy is, how to sign, where to print."""

    def __init__(
        self,
        args: argparse.Namespace,
        out: IO[str],
        err: IO[str],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.clock = clock
        self.sleep = sleep
        self.session = make_session(args.profile)
        self.target = resolve_target(args, self.session)
        self.streaming = not getattr(args, "no_stream", True)

    def call_streaming(self, path: str, payload: dict[str, Any], on_token: Callable[[str], None]) -> Any:
        """POST with ``"stream": true``, handing each token's text to ``on_token`` as it arrives; returns the
        last event (TGI's, with ``generated_text``). A proxy deployed without streaming answers 400 on stream:
        the call is made again, buffered, and so are the next ones; a JSON answer is returned as is."""
        if not self.streaming:
            return self.call("POST", path, payload)
        body = json.dumps({**payload, "stream": True}).encode()
        answer = self.send(
            lambda: open_signed(self.session, self.target, "POST", path, body, self.args.timeout)
        )
        if isinstance(answer, HttpAnswer):
            error = answer.json().get("error") if isinstance(answer.json(), dict) else None
            if answer.status == 400 and isinstance(error, dict) and error.get("param") == "stream":
                self.streaming = False
                return self.call("POST", path, payload)
            raise CliError(explain_failure(answer, self.target))
        with answer.response as response:
            content_type = {k.lower(): v for k, v in answer.headers.items()}.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                return HttpAnswer(answer.status, answer.headers, response.read()).json()
            last: Any = None
            for event in read_events(response):
                if isinstance(event, dict) and isinstance(event.get("error"), dict):
                    failure = HttpAnswer(502, {}, json.dumps(event).encode())
                    raise CliError(
                        "the answer broke off: " + explain_failure(failure, self.target).split(" ", 1)[1]
                    )
                if self.args.json:
                    self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
                    self.out.flush()
                token = event.get("token") if isinstance(event, dict) else None
                if isinstance(token, dict) and not token.get("special") and not self.args.json:
                    on_token(str(token.get("text", "")))
                last = event
        if not isinstance(last, dict) or last.get("generated_text") is None:
            raise CliError(
                f"The stream from {self.target.url} ended without its last event: is it the proxy?"
            )
        return last

    def send(self, request: Callable[[], A]) -> A:
        """Every request goes through here: while the model scales up from zero, wait (``--wait``)."""
        return with_wake_wait(
            request,
            wait_seconds=self.args.wait,
            clock=self.clock,
            sleep=self.sleep,
            progress=self.progress,
            describe=lambda answer: (
                explain_failure(answer, self.target) if isinstance(answer, HttpAnswer) else ""
            ),
        )

    def progress(self, line: str) -> None:
        self.err.write(line + "\n")
        self.err.flush()

    def call(self, method: str, path: str, payload: Any = None, raw: bytes | None = None) -> Any:
        body = raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
        answer = self.send(
            lambda: signed_request(self.session, self.target, method, path, body, self.args.timeout)
        )
        if answer.status >= 400:
            raise CliError(explain_failure(answer, self.target))
        return answer.json()

    def field(self, answer: Any, *path: str) -> Any:
        """A field of a successful answer; a clear error if the URL is not the proxy."""
        value = answer
        for key in path:
            if not isinstance(value, dict) or key not in value:
                raise CliError(
                    f"Unexpected answer from {self.target.url} (no {'.'.join(path)}): is it the proxy?"
                )
            value = value[key]
        return value

    def printer(self, streamed: list[str]) -> Callable[[str], None]:
        """Print each token at once, remembering what was printed."""

        def write(text: str) -> None:
            streamed.append(text)
            self.out.write(text)
            self.out.flush()

        return write

    def print_json(self, value: Any) -> None:
        self.out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def tgi_parameters(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "max_new_tokens",
        "temperature",
        "top_p",
        "top_k",
        "repetition_penalty",
        "seed",
        "truncate",
    )
    params: dict[str, Any] = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.stop:
        params["stop"] = args.stop
    if args.do_sample:
        params["do_sample"] = True
    if getattr(args, "details", False):
        params["details"] = True
    return params


def cmd_generate(client: Client, args: argparse.Namespace, stdin: IO[str]) -> int:
    prompt = stdin.read() if args.prompt == "-" else args.prompt
    payload = {"inputs": prompt, "parameters": tgi_parameters(args)}
    streamed: list[str] = []
    try:
        answer = client.call_streaming("/generate", payload, client.printer(streamed))
    finally:
        if streamed:  # end the line of tokens, even when the answer broke off
            client.out.write("\n")
    if streamed or "token" in answer:  # printed as it arrived
        pass
    elif args.json:
        client.print_json(answer)
    else:
        client.out.write(f"{client.field(answer, 'generated_text')}\n")
    return 0


CHAT_HELP = "Commands: /reset forgets the conversation, /exit (or end of input) quits, /help shows this."


def cmd_chat(client: Client, args: argparse.Namespace, stdin: IO[str]) -> int:
    system = [{"role": "system", "content": args.system}] if args.system else []
    history: list[dict[str, str]] = []
    params = tgi_parameters(args)

    def turn(text: str) -> None:
        messages = [*system, *history, {"role": "user", "content": text}]
        streamed: list[str] = []
        try:
            answer = client.call_streaming(
                "/chat", {"messages": messages, "parameters": params}, client.printer(streamed)
            )
        finally:
            if streamed:  # end the partial line, even when the answer broke off
                client.out.write("\n")
        if "generated_text" in answer:  # streamed: the last event holds the answer
            content = client.field(answer, "generated_text")
        else:
            content = client.field(answer, "message", "content")
        # Only a turn that got an answer joins the history, so roles keep alternating after an error.
        history.extend([{"role": "user", "content": text}, {"role": "assistant", "content": content}])
        if streamed or "token" in answer:  # printed as it arrived
            pass
        elif args.json:
            client.print_json(answer)
        else:
            client.out.write(f"{content}\n")

    if args.message is not None:
        turn(args.message)
        return 0
    interactive = stdin.isatty()
    failed = False
    if interactive:
        client.err.write(f"Chatting through {client.target.url}. {CHAT_HELP}\n")
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 - line editing and history for input()
    while True:
        if interactive:
            try:
                line = input("you> ") + "\n"
            except EOFError:
                line = ""
        else:
            line = stdin.readline()
        text = line.rstrip("\n")
        command = text.strip().lower()
        if not line or command in ("/exit", "/quit"):
            # Piped conversations report a failed turn in the exit status; interactive ones showed it already.
            return 1 if failed and not interactive else 0
        if command == "/reset":
            history.clear()
            client.err.write("(conversation reset)\n")
            continue
        if command == "/help":
            client.err.write(CHAT_HELP + "\n")
            continue
        if not text.strip():
            continue
        try:
            turn(text)
        except CliError as exc:
            failed = True
            client.err.write(f"error: {exc}\n")


def cmd_health(client: Client, args: argparse.Namespace, stdin: IO[str]) -> int:
    client.print_json(client.call("GET", "/health"))
    return 0


def cmd_request(client: Client, args: argparse.Namespace, stdin: IO[str]) -> int:
    data: bytes | None = None
    if args.data is not None:
        if args.data == "-":
            data = stdin.read().encode()
        elif args.data.startswith("@"):
            with open(args.data[1:], "rb") as handle:
                data = handle.read()
        else:
            data = args.data.encode()
    path = args.path if args.path.startswith("/") else "/" + args.path
    client.print_json(client.call(args.method.upper(), path, raw=data))
    return 0


# --- local development server ------------------------------------------------------------------------------


def url_event(
    method: str,
    path: str,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    *,
    domain: str = "localhost",
    account_id: str | None = None,
    caller_arn: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway payload format 2.0 event, as a function URL delivers it to the function.

    The one builder of these events: the tests' local server (tests/function_url_server.py), the deploy
    rehearsal, the proxy benchmark and the tests use it. ``body`` as bytes arrives base64-encoded
    (``isBase64Encoded``), as Lambda delivers a binary body; as str it arrives as is, as Lambda delivers a text
    one; ``None`` or no bytes leaves ``body`` out, as for a GET. ``headers`` default to a JSON request to ``domain`` and are lower-cased, as Lambda does.
    ``account_id`` is the function owner's account; ``caller_arn`` adds the ``authorizer.iam`` block of a
    SigV4-signed (AWS_IAM) call.
    """
    import base64
    import time
    import uuid

    sent = {
        k.lower(): v for k, v in (headers or {"content-type": "application/json", "host": domain}).items()
    }
    prefix = domain.split(".", 1)[0]
    now = time.time()
    context: dict[str, Any] = {
        "apiId": prefix,
        "domainName": domain,
        "domainPrefix": prefix,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": sent.get("user-agent", ""),
        },
        "requestId": request_id or str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if account_id is not None:
        context["accountId"] = account_id
    if caller_arn is not None:
        context["authorizer"] = {"iam": {"accountId": caller_arn.split(":")[4], "userArn": caller_arn}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": sent,
        "requestContext": context,
        "isBase64Encoded": isinstance(body, bytes) and bool(body),
    }
    if isinstance(body, bytes):
        if body:
            event["body"] = base64.b64encode(body).decode()
    elif body is not None:
        event["body"] = body
    return event


def cmd_serve(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    import logging

    session = make_session(args.profile)
    endpoint_name, region = args.endpoint_name, args.region
    component = args.inference_component_name
    if args.stack:
        cfn_region = region or session.get_config_variable("region")
        outputs = stack_outputs(create_client(session, "cloudformation", cfn_region), args.stack)
        endpoint_name = endpoint_name or outputs.get("EndpointName")
        component = component or outputs.get("InferenceComponentName")
        region = region or outputs.get("Region") or cfn_region
    if not endpoint_name:
        raise CliError("serve needs --endpoint-name NAME, or --stack STACK_NAME with an EndpointName output.")
    # The same configuration path as in Lambda: environment variables, read by load_config.
    env = {
        "ENDPOINT_NAME": endpoint_name,
        "MAX_INPUT_LENGTH": str(args.max_input_length),
        "MAX_TOTAL_TOKENS": str(args.max_total_tokens),
        "DEFAULT_MAX_NEW_TOKENS": str(args.default_max_new_tokens),
        "MODEL_ID": args.model_id,
        "PROMPT_FORMAT": args.prompt_format,
        "LOG_PROMPTS": "true" if args.log_prompts else "false",
    }
    if region:
        env["AWS_REGION"] = region
    if component:  # a scale-to-zero endpoint: every invocation names its inference component
        env["INFERENCE_COMPONENT_NAME"] = component
    if args.profile:
        env["AWS_PROFILE"] = args.profile
    os.environ.update(env)
    stream = logging.StreamHandler(err)
    stream.setFormatter(JsonLogFormatter())
    logging.getLogger("invoke_proxy").addHandler(stream)
    # The streaming function's own HTTP app (behind the Lambda Web Adapter in AWS): every route, streamed too.
    from ._lambda.invoke_proxy.config import ConfigError, load_config
    from ._lambda.invoke_proxy.core import Proxy
    from ._lambda.invoke_proxy.http_server import make_server
    from ._lambda.invoke_proxy.sagemaker import create_client as create_runtime_client

    try:
        config = load_config(os.environ)
    except ConfigError as exc:
        raise CliError(f"Invalid configuration: {exc}") from None
    server = make_server(Proxy(config, create_runtime_client(config)), args.host, args.port)
    host, port = str(server.server_address[0]), server.server_address[1]
    if args.host not in LOOPBACK_HOSTS:
        err.write("warning: serving beyond loopback: this local server does no authentication.\n")
    out.write(f"Serving the invoke proxy for endpoint {endpoint_name} on http://{host}:{port}/\n")
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# --- argument parsing ------------------------------------------------------------------------------------


def _add_parameters(parser: argparse.ArgumentParser, details: bool) -> None:
    group = parser.add_argument_group("generation parameters (TGI 1.1)")
    group.add_argument(
        "--max-new-tokens",
        type=int,
        help=f"tokens to generate (default: the proxy's, {DEFAULTS.default_max_new_tokens})",
    )
    group.add_argument("--temperature", type=float, help="sampling temperature, above 0")
    group.add_argument("--top-p", type=float, help="nucleus sampling, strictly between 0 and 1")
    group.add_argument("--top-k", type=int, help="sample from the k most likely tokens")
    group.add_argument("--repetition-penalty", type=float, help="above 0; 1.0 is none")
    group.add_argument("--stop", action="append", help="stop sequence (repeat for up to 4)")
    group.add_argument("--seed", type=int, help="random seed, for reproducible sampling")
    group.add_argument("--truncate", type=int, help="keep only the last N input tokens")
    group.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    if details:
        group.add_argument(
            "--details", action="store_true", help="ask TGI for details (tokens, finish reason)"
        )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where and who")
    where.add_argument("--url", default=argparse.SUPPRESS, help="the function URL (or a local dev server)")
    where.add_argument(
        "--stack", default=argparse.SUPPRESS, help="read the URL from this stack's InvokeUrl output"
    )
    where.add_argument("--profile", default=argparse.SUPPRESS, help="AWS profile (default: standard chain)")
    where.add_argument("--region", default=argparse.SUPPRESS, help="region (default: from the URL or stack)")
    where.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the JSON answer")
    where.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="seconds (default: 90)")
    where.add_argument(
        "--wait",
        type=parse_wait,
        default=argparse.SUPPRESS,
        metavar="DURATION",
        help="while the model scales up from zero, retry for up to this long: seconds, or 90s, 15m, 1h "
        "(default: 15m; 0 answers at once)",
    )

    parser = argparse.ArgumentParser(
        prog="mistral-invoke",
        parents=[common],
        description="Call the Mistral invoke proxy through its IAM-protected function URL, SigV4-signed.",
        epilog="Example: mistral-invoke --stack MistralEndpointStack chat",
    )
    parser.add_argument("--version", action=VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", parents=[common], help="POST /generate: complete a raw prompt")
    generate.add_argument("prompt", help="the prompt text, or - to read it from standard input")
    generate.add_argument(
        "--no-stream", action="store_true", help="wait for the whole answer (default: stream)"
    )
    _add_parameters(generate, details=True)

    chat = commands.add_parser(
        "chat", parents=[common], help="POST /chat: an interactive conversation (keeps history; /reset)"
    )
    chat.add_argument("--system", help="system prompt, prepended to the first user turn")
    chat.add_argument("-m", "--message", help="send one message and exit instead of an interactive session")
    chat.add_argument("--no-stream", action="store_true", help="wait for each whole answer (default: stream)")
    _add_parameters(chat, details=False)

    commands.add_parser("health", parents=[common], help="GET /health: liveness and configured limits")

    request = commands.add_parser("request", parents=[common], help="send any signed request (like curl)")
    request.add_argument("method", help="GET or POST")
    request.add_argument("path", help="e.g. /v1/chat/completions")
    request.add_argument("-d", "--data", help="JSON body, @file to read a file, or - for standard input")

    # serve runs the proxy itself: no URL to call, no answer to print, no client timeout or wait, so it takes
    # only what locates the endpoint and configures the proxy (not the `where and who` flags above).
    serve = commands.add_parser(
        "serve",
        help="local dev mode: serve the proxy on localhost against a real endpoint",
        description="Serve the invoke proxy's HTTP app (every route, streaming too) on localhost, calling a "
        "deployed SageMaker endpoint with your credentials. No authentication: keep it on loopback.",
    )
    endpoint = serve.add_argument_group("the endpoint")
    endpoint.add_argument(
        "--stack",
        default=argparse.SUPPRESS,
        help="read EndpointName, InferenceComponentName and Region from this stack's outputs",
    )
    endpoint.add_argument(
        "--endpoint-name", help="SageMaker endpoint (default: the stack's EndpointName output)"
    )
    endpoint.add_argument(
        "--inference-component-name",
        help="scale-to-zero stacks: the model's inference component (default: the stack's "
        "InferenceComponentName output, if any)",
    )
    endpoint.add_argument(
        "--profile", default=argparse.SUPPRESS, help="AWS profile (default: standard chain)"
    )
    endpoint.add_argument(
        "--region", default=argparse.SUPPRESS, help="region (default: the stack's, or your profile's)"
    )
    listen = serve.add_argument_group("the local server")
    listen.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (no authentication!)")
    listen.add_argument("--port", type=int, default=8080, help="default: 8080; 0 picks a free port")
    listen.add_argument("--log-prompts", action="store_true", help="log prompt text (debugging only)")
    model = serve.add_argument_group("the model's limits and format", "set them as the endpoint was deployed")
    model.add_argument(
        "--max-input-length",
        type=int,
        default=DEFAULTS.max_input_length,
        help="TGI's MAX_INPUT_LENGTH, in tokens (context maxInputLength; default: %(default)s)",
    )
    model.add_argument(
        "--max-total-tokens",
        type=int,
        default=DEFAULTS.max_total_tokens,
        help="TGI's MAX_TOTAL_TOKENS, input plus output (context maxTotalTokens; default: %(default)s)",
    )
    model.add_argument(
        "--default-max-new-tokens",
        type=int,
        default=DEFAULTS.default_max_new_tokens,
        help="max_new_tokens when a request sets none (context defaultMaxNewTokens; default: %(default)s)",
    )
    model.add_argument(
        "--model-id",
        default=DEFAULTS.model_id,
        help="the model id /health and OpenAI answers report (default: %(default)s)",
    )
    model.add_argument(
        "--prompt-format",
        default=DEFAULTS.prompt_format,
        choices=["mistral-instruct", "none"],
        help="mistral-instruct serves /chat and /v1/chat/completions; none, for a base model (context "
        "model=base), only /generate (default: %(default)s)",
    )

    preflight.add_parser(commands)
    return parser


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser's subcommands by name (empty for a parser without any). argparse has no public accessor."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def reject_flags_the_command_ignores(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A `where and who` flag given before a command that does not take it (``mistral-invoke --url U serve``) is
    a usage error, as it would be after the command, instead of being silently ignored."""
    command = subcommands(parser)[args.command]
    accepted = {action.dest for action in command._actions}
    for name in GLOBAL_DEFAULTS:
        if hasattr(args, name) and name not in accepted:
            parser.error(f"--{name} does not apply to {args.command}")


COMMANDS: dict[str, Callable[[Client, argparse.Namespace, IO[str]], int]] = {
    "generate": cmd_generate,
    "chat": cmd_chat,
    "health": cmd_health,
    "request": cmd_request,
}
GLOBAL_DEFAULTS: dict[str, Any] = {
    "url": None,
    "stack": None,
    "profile": None,
    "region": None,
    "json": False,
    "timeout": DEFAULT_TIMEOUT_SECONDS,
    "wait": DEFAULT_WAIT_SECONDS,
}


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    stdin, out, err = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    reject_flags_the_command_ignores(parser, args)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    try:
        if args.command == "serve":
            return cmd_serve(args, out, err)
        if args.command == "preflight":
            return preflight.run(args, out, err, make_session(args.profile))
        client = Client(args, out, err, clock=clock, sleep=sleep)
        return COMMANDS[args.command](client, args, stdin)
    except CliError as exc:
        err.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore"):
            raise
        err.write(f"error: mistral-invoke needs {exc.name}: pip install 'mistral-endpoint[cli]'\n")
        return 1
    except Exception as exc:
        # Credential and profile problems (ProfileNotFound, SSO token expired, ...) are the user's to fix.
        if type(exc).__module__.startswith("botocore"):
            err.write(f"error: {exc}\n")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
