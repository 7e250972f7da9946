"""Where the benchmark's requests go, and how each answer becomes an :class:`Outcome`.

- :class:`DoorTarget`: ``POST /generate`` through a door of the invoke proxy, the function URL or the private API,
  SigV4-signed with :class:`mistral_client.signing.DoorSigner` for that door's service (what applications see:
  proxy and Lambda, and API Gateway, included).
- :class:`EndpointTarget`: InvokeEndpoint / InvokeEndpointWithResponseStream on the SageMaker endpoint (what the
  model delivers), with a botocore client from the standard configuration chain, so
  ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` and friends redirect it.

Both read streamed answers with the proxy's own server-sent events parser (``invoke_proxy.sse``) and TGI's
answers with its own reading of them (``invoke_proxy.tgi``): one ``data:`` JSON per token, the last one carrying
``generated_text`` and ``details``. SageMaker's errors are recognized as the proxy recognizes them
(``invoke_proxy.sagemaker_errors``).

No CDK here; botocore is imported when a target is built, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from invoke_proxy.contract import GENERATE, MODEL_SCALING_UP_ERROR
from invoke_proxy.sagemaker_errors import container_timed_out, no_capacity, stream_timed_out
from invoke_proxy.sse import SseParser
from invoke_proxy.tgi import answer_of, details_of, token_counts

from .. import transport
from ..errors import CliError
from ..signing import EXECUTE_API, DoorSigner, region_from_url, service_from_url
from ..transport import LOOPBACK_HOSTS

# Outcome kinds. "ok" includes short generations (see ``Outcome.generated_tokens``).
OK, OVERLOADED, SERVER_ERROR, TIMEOUT, OTHER = "ok", "429", "5xx", "timeout", "other"
KINDS = (OK, OVERLOADED, SERVER_ERROR, TIMEOUT, OTHER)


@dataclass
class Outcome:
    """One request as the client saw it. Times are ``time.perf_counter()`` seconds."""

    start: float
    end: float
    kind: str
    first_token: float | None = None  # streaming only: when the first token event arrived
    generated_tokens: int | None = None  # TGI's details.generated_tokens
    finish_reason: str | None = None
    status: int | None = None  # the HTTP status, or the model's own status inside a SageMaker ModelError
    message: str = ""


class Target(Protocol):
    name: str

    def send(self, body: bytes, stream: bool) -> Outcome: ...

    def explain(self, outcome: Outcome) -> str:
        """What a failed outcome says about the target, and what to do: for the check before a sweep."""
        ...


WAKE_HINT = (
    "The model is scaled to zero and starting (5-10 minutes): wake it first, e.g. "
    "mistral-invoke --stack STACK generate hi --max-new-tokens 1 --wait 15m, then run the benchmark."
)


# --- TGI answers --------------------------------------------------------------------------------------------


def _events(parser: SseParser, data: list[str]) -> list[dict[str, Any]]:
    """Each event's JSON object; what is not one becomes an ``error`` event (the stream is not TGI's)."""
    events: list[dict[str, Any]] = []
    for text in data:
        try:
            event = json.loads(text)
        except ValueError:
            event = {"error": f"unreadable event: {text[:200]!r}"}
        events.append(event if isinstance(event, dict) else {"error": f"unexpected event: {event!r}"})
    return events


def _generated_tokens(answer: dict[str, Any]) -> int | None:
    """TGI's details.generated_tokens of an answer (or a final event), read as the proxy reads it."""
    return token_counts(details_of(answer)).get("completion_tokens")


def read_stream(chunks: Iterable[bytes], start: float) -> Outcome:
    """Consume a TGI event stream; the outcome carries the first token's time and the final details."""
    parser = SseParser()
    first_token: float | None = None
    tokens = 0
    for chunk in itertools.chain(chunks, [b""]):  # the empty chunk: the end of the stream
        for event in _events(parser, parser.feed(chunk) if chunk else parser.close()):
            now = time.perf_counter()
            if "error" in event:
                return Outcome(
                    start, now, SERVER_ERROR, first_token, tokens, message=f"error event: {event['error']}"
                )
            if event.get("token") is not None:
                tokens += 1
                if first_token is None:
                    first_token = now
            if event.get("generated_text") is not None:
                generated = _generated_tokens(event)
                if generated is None:
                    return Outcome(
                        start, now, OTHER, first_token, tokens, message="the final event has no details"
                    )
                finish = details_of(event).get("finish_reason")
                return Outcome(start, now, OK, first_token, generated, finish, 200)
    return Outcome(
        start,
        time.perf_counter(),
        SERVER_ERROR,
        first_token,
        tokens,
        message=f"the stream ended after {tokens} tokens without a final event",
    )


def read_answer(raw: bytes, start: float, end: float) -> Outcome:
    """A buffered TGI answer: ``[{"generated_text", "details"}]`` (SageMaker) or the object alone (proxy)."""
    answer = answer_of(raw)
    generated = _generated_tokens(answer) if isinstance(answer, dict) else None
    if generated is None:
        return Outcome(start, end, OTHER, status=200, message="the answer has no details.generated_tokens")
    finish = details_of(answer).get("finish_reason")
    return Outcome(start, end, OK, generated_tokens=generated, finish_reason=finish)


def classify_http(status: int) -> str:
    """The kind of an HTTP error from the function URL (the proxy's statuses: 429, 502/503, 504, ...)."""
    if status == 429:
        return OVERLOADED
    if status == 504:
        return TIMEOUT
    if status >= 500:
        return SERVER_ERROR
    return OTHER


def classify_botocore(exc: Exception) -> tuple[str, int | None, str]:
    """(kind, status, message) for a botocore exception from SageMaker runtime.

    A ``ModelError`` carries TGI's own status: 429 is TGI at MAX_CONCURRENT_REQUESTS; no status (0) with
    "timed out" is SageMaker cutting the container at 60 s. A ``ModelStreamError`` saying it timed out is the
    streaming form of the same. Other SageMaker errors count by their HTTP status.
    """
    from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

    timed_out = isinstance(exc, ReadTimeoutError | ConnectTimeoutError | TimeoutError)
    # urllib3's own ReadTimeoutError reaches us when a stream stalls after its first bytes.
    if timed_out or type(exc).__name__ in ("ReadTimeoutError", "ConnectTimeoutError"):
        return TIMEOUT, None, f"no answer within the client's timeout ({exc})"
    if not isinstance(exc, ClientError):
        return OTHER, None, f"{type(exc).__name__}: {exc}"
    error = exc.response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    http_status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "ModelError":
        original = exc.response.get("OriginalStatusCode")
        text = f"ModelError ({original}): {exc.response.get('OriginalMessage') or message}"
        if container_timed_out(original, message, exc.response.get("OriginalMessage")):
            return TIMEOUT, original, text
        if original == 429:
            return OVERLOADED, 429, text
        if original in (None, 0) or original >= 500 or original == 424:
            return SERVER_ERROR, original, text
        return OTHER, original, text
    if code == "ModelStreamError":
        kind = TIMEOUT if stream_timed_out(message, exc.response.get("ErrorCode")) else SERVER_ERROR
        return kind, None, f"{code}: {message}"
    text = f"{code}: {message}"
    if code == "ValidationError" and no_capacity(message):
        # A scale-to-zero inference component without a copy: unavailable until it scales out (the proxy
        # answers 503 model_scaling_up). Wake it before measuring.
        return SERVER_ERROR, http_status, text
    if http_status == 429 or code in ("ThrottlingException", "ModelNotReadyException"):
        return OVERLOADED, http_status, text
    if (http_status or 0) >= 500 or code in (
        "InternalFailure",
        "ServiceUnavailable",
        "InternalStreamFailure",
    ):
        return SERVER_ERROR, http_status, text
    return OTHER, http_status, text


def _error_code(outcome: Outcome) -> str:
    """The exception or error code an outcome's message starts with (``ModelError (500): ...`` -> ModelError)."""
    return outcome.message.split(":", 1)[0].split(" (", 1)[0]


# --- the endpoint, directly ---------------------------------------------------------------------------------


class EndpointTarget:
    """InvokeEndpoint(WithResponseStream) on the endpoint; the client is thread-safe and shared by all users.
    A scale-to-zero stack's endpoint hosts an inference component, which every invocation must name."""

    def __init__(self, client: Any, endpoint_name: str, inference_component: str | None = None) -> None:
        self.client = client
        self.endpoint_name = endpoint_name
        self.name = f"endpoint {endpoint_name}"
        self._names: dict[str, str] = {"EndpointName": endpoint_name}
        if inference_component:
            self._names["InferenceComponentName"] = inference_component
            self.name += f" (inference component {inference_component})"

    def send(self, body: bytes, stream: bool) -> Outcome:
        start = time.perf_counter()
        try:
            if not stream:
                response = self.client.invoke_endpoint(
                    **self._names, ContentType="application/json", Accept="application/json", Body=body
                )
                raw = response["Body"].read()
                return read_answer(raw, start, time.perf_counter())
            response = self.client.invoke_endpoint_with_response_stream(
                **self._names, ContentType="application/json", Body=body
            )
            events = response["Body"]
            parts = (event["PayloadPart"]["Bytes"] for event in events if "PayloadPart" in event)
            outcome = read_stream(parts, start)
            for _ in events:  # drain the end of the stream, so the connection goes back to the pool
                pass
            return outcome
        except Exception as exc:
            if not type(exc).__module__.startswith(("botocore", "urllib3")) and not isinstance(exc, OSError):
                raise
            kind, status, message = classify_botocore(exc)
            return Outcome(start, time.perf_counter(), kind, status=status, message=message)

    def explain(self, outcome: Outcome) -> str:
        code = _error_code(outcome)
        region = self.client.meta.region_name
        if outcome.kind == TIMEOUT:
            return f"{outcome.message}: SageMaker took the call but no answer came; raise --timeout?"
        if code == "EndpointConnectionError":
            return (
                f"could not connect to SageMaker runtime at {self.client.meta.endpoint_url}: check --region "
                "(and AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, if set). "
                f"{outcome.message}"
            )
        if code in ("NoCredentialsError", "UnauthorizedSSOTokenError", "SSOTokenLoadError"):
            return f"{outcome.message}. Give it credentials: AWS_PROFILE=name, or aws sso login."
        if code in ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"):
            return f"{outcome.message}. The credentials were refused: refresh them (aws sso login) or check the clock."
        if code == "AccessDeniedException":
            # InvokeEndpointWithResponseStream is authorized by the same action (SageMaker API Reference,
            # InvokeEndpointWithResponseStream: "your IAM permissions must allow the sagemaker:InvokeEndpoint
            # action").
            return (
                f"{outcome.message}. The calling identity needs sagemaker:InvokeEndpoint on "
                f"arn:aws:sagemaker:{region}:<account>:endpoint/{self.endpoint_name} (and on the inference "
                "component, for a scale-to-zero endpoint)."
            )
        if code == "ValidationError" and no_capacity(outcome.message):
            return f"{outcome.message}. {WAKE_HINT}"
        if code == "ValidationError" and "not found" in outcome.message:
            return f"{outcome.message} Check --endpoint-name and --region (this call went to {region})."
        if code == "ModelError":
            return (
                f"the model answered an error: {outcome.message}. Its logs are in CloudWatch "
                f"(/aws/sagemaker/Endpoints/{self.endpoint_name}, or /aws/sagemaker/InferenceComponents/... "
                "for a scale-to-zero endpoint)."
            )
        return outcome.message or outcome.kind


def endpoint_client(
    session: Any, region: str | None, timeout: float, users: int, endpoint_url: str | None = None
) -> Any:
    """A SageMaker runtime client from the standard configuration chain (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``
    included): one connection per user, botocore's own retries off (a retry would hide a 429)."""
    from botocore.config import Config

    config = Config(
        connect_timeout=10,
        read_timeout=timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(users, 10),
        user_agent_extra="mistral-bench",
    )
    return session.create_client(
        "sagemaker-runtime", region_name=region, config=config, endpoint_url=endpoint_url
    )


# --- the function URL, through the proxy ----------------------------------------------------------------------


class DoorTarget:
    """``POST /generate`` through a door, signed for its service (``lambda`` for the function URL, ``execute-api``
    for the private API; ``service`` for another host name, ``api_id`` for a VPC endpoint's); one keep-alive
    connection per user."""

    def __init__(
        self,
        url: str,
        region: str | None,
        session: Any,
        timeout: float,
        *,
        service: str | None = None,
        api_id: str | None = None,
    ) -> None:
        self.url = url.rstrip("/") + GENERATE
        self.service, self.api_id = service_from_url(url, service), api_id
        self.name = f"{'private API' if self.service == EXECUTE_API else 'function URL'} {url}"
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.url)
        self._scheme, self._host, self._port, self._path = (
            parts.scheme,
            parts.hostname or "",
            parts.port,
            parts.path,
        )
        self.region = region
        loopback = self._host in LOOPBACK_HOSTS
        # As mistral-invoke does: a local dev server without credentials or a region is called unsigned.
        self._signer: DoorSigner | None = None
        if session.get_credentials() is not None and (region or not loopback):
            self._signer = DoorSigner(region, session=session, service=service, api_id=api_id)
        elif not loopback:
            raise CliError(
                "No AWS credentials found (profile, environment, SSO or instance role); cannot sign."
            )
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def send(self, body: bytes, stream: bool) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }
        if self._signer:
            headers.update(self._signer.headers("POST", self.url, body, "application/json"))
        for attempt in (1, 2):
            reused = getattr(self._local, "connection", None) is not None
            start = time.perf_counter()
            try:
                connection = self._connection()
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop_connection()
                # The server closed an idle keep-alive connection before reading the request: resend once on
                # a new connection, timed afresh, as HTTP clients do. A fresh connection failing is an error.
                if reused and attempt == 1:
                    continue
                return Outcome(start, time.perf_counter(), OTHER, message=f"{type(exc).__name__}: {exc}")
            except TimeoutError as exc:
                self._drop_connection()
                return self._timed_out(start, exc)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                return Outcome(start, time.perf_counter(), OTHER, message=f"{type(exc).__name__}: {exc}")
            return self._read(response, start, stream)
        raise AssertionError("unreachable")

    def _read(self, response: http.client.HTTPResponse, start: float, stream: bool) -> Outcome:
        try:
            if response.status >= 400:
                raw = response.read()
                outcome = Outcome(
                    start, time.perf_counter(), classify_http(response.status), status=response.status
                )
                outcome.message = f"{response.status}: {raw[:300].decode('utf-8', 'replace')}"
                retry_after = response.getheader("Retry-After")
                if retry_after:
                    outcome.message += f" (Retry-After: {retry_after})"
                return outcome
            content_type = response.getheader("Content-Type") or ""
            if stream and "application/json" not in content_type:
                outcome = read_stream(iter(lambda: response.read1(65536), b""), start)
                response.read()  # drain, so the connection can be reused
            else:
                raw = response.read()
                outcome = read_answer(raw, start, time.perf_counter())
            outcome.status = response.status
            return outcome
        except TimeoutError as exc:
            self._drop_connection()
            return self._timed_out(start, exc)
        except (OSError, http.client.HTTPException) as exc:
            self._drop_connection()
            return Outcome(start, time.perf_counter(), OTHER, message=f"{type(exc).__name__}: {exc}")

    def _timed_out(self, start: float, exc: Exception) -> Outcome:
        message = f"no answer within {self.timeout:g} s ({exc})"
        return Outcome(start, time.perf_counter(), TIMEOUT, message=message)

    def explain(self, outcome: Outcome) -> str:
        where = f"{self._host}:{self._port or (443 if self._scheme == 'https' else 80)}"
        code = _error_code(outcome)
        if outcome.kind == TIMEOUT:
            return f"{outcome.message}: {where} took the request but did not answer; raise --timeout?"
        if code == "ConnectionRefusedError":
            return (
                f"connection refused: nothing is listening on {where}. Check --url (a local server, "
                "mistral-invoke serve, must be running)."
            )
        if code == "gaierror":
            return f"cannot resolve {self._host}: check --url. ({outcome.message})"
        if outcome.status is None:
            return f"could not reach {where}: {outcome.message}"
        # The message is "<status>: <body>": mistral-invoke's own reading of it (the 403 names both IAM
        # permissions a function URL checks; the proxy's errors show their type, message and param).
        body = (
            outcome.message.split(": ", 1)[1].split(" (Retry-After: ", 1)[0]
            if ": " in outcome.message
            else ""
        )
        text = transport.explain_failure(
            transport.HttpAnswer(outcome.status, {}, body.encode()),
            transport.Target(self.url, self.region, self.service, self.api_id),
        )
        if MODEL_SCALING_UP_ERROR in body:
            text += f"\n{WAKE_HINT}"
        return text


#: The target's earlier name, from when the function URL was the only door: the same class.
FunctionUrlTarget = DoorTarget

# --- choosing a target ---------------------------------------------------------------------------------------


def build_target(args: argparse.Namespace, session: Any, users: int) -> Target:
    """The target the arguments name: ``--url``, ``--endpoint-name``, or ``--stack`` (outputs InvokeUrl or
    PrivateApiUrl as ``--door`` says, EndpointName, Region and, on scale-to-zero stacks, InferenceComponentName)
    with ``--target url|endpoint``; ``--service`` and ``--api-id`` as mistral-invoke takes them."""
    kind = args.target or ("endpoint" if args.endpoint_name and not args.url else "url")
    # The door flags given (add_door_arguments leaves the others unset).
    door = {key: getattr(args, key) for key in ("door", "service", "api_id") if hasattr(args, key)}
    if kind == "url":
        if args.stack and not args.url:
            target = transport.resolve_target(args, session)  # mistral-invoke's own --stack lookup
        elif args.url:
            url = args.url if args.url.endswith("/") else args.url + "/"
            target = transport.resolve_target(
                argparse.Namespace(url=url, stack=None, region=args.region, **door), session
            )
        else:
            raise CliError("Say what to measure: --url URL, --endpoint-name NAME, or --stack STACK_NAME.")
        region = target.region or region_from_url(target.url)
        return DoorTarget(
            target.url, region, session, args.timeout, service=target.service, api_id=target.api_id
        )
    if door:
        raise CliError(
            f"--{next(iter(door)).replace('_', '-')} chooses a door of the proxy; --target endpoint calls the "
            "SageMaker endpoint directly."
        )
    endpoint_name, region = args.endpoint_name, args.region
    component = args.inference_component_name
    if not endpoint_name:
        if not args.stack:
            raise CliError("--target endpoint needs --endpoint-name NAME or --stack STACK_NAME.")
        cfn_region = region or session.get_config_variable("region")
        outputs = transport.stack_outputs(
            transport.create_client(session, "cloudformation", cfn_region), args.stack
        )
        if "EndpointName" not in outputs:
            raise CliError(
                f"Stack {args.stack!r} has no EndpointName output (outputs: {', '.join(sorted(outputs)) or 'none'})."
            )
        endpoint_name = outputs["EndpointName"]
        component = component or outputs.get("InferenceComponentName")
        region = region or outputs.get("Region") or cfn_region
    region = region or session.get_config_variable("region")
    return EndpointTarget(endpoint_client(session, region, args.timeout, users), endpoint_name, component)
