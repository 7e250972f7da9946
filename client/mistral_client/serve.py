"""``mistral-invoke serve``: the streaming function's own HTTP app on localhost, against a deployed endpoint; or,
given a door (``--url``, or ``--stack`` with ``--door``), a loopback forwarder in front of it (``door_forward``).

The proxy's runtime (``invoke_proxy``: the same code the Lambda function runs, configured the same way, from
environment variables) serves every route, streamed too, with the caller's credentials; ``GET /openapi.json``
publishes the HTTP API's OpenAPI document, which the runtime ships (``invoke_proxy.openapi.load_openapi``).
No authentication: it listens on loopback unless told otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable
from typing import IO, Any

from invoke_proxy import contract

from . import door_forward, signing, transport
from .chat_page import CHAT_PAGE_PATH, chat_page
from .errors import CliError

#: Where ``serve`` publishes the OpenAPI document (the deployed function does not serve it).
OPENAPI_PATH = "/openapi.json"


class OpenApiProxy:
    """The proxy, answering ``GET /openapi.json`` with the runtime's OpenAPI document and ``GET /`` with the
    chat page (``chat_page``); every other request is the proxy's own. What the HTTP app calls (``open``) is
    all this adds to."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proxy, name)

    def open(
        self,
        method: str,
        path: str,
        body: bytes,
        request_id: str,
        remaining_ms: Callable[[], int] | None = None,
        **identity: Any,
    ) -> Any:
        if path == OPENAPI_PATH and method in ("GET", "HEAD"):
            from invoke_proxy.openapi import load_openapi
            from invoke_proxy.records import Response

            return Response(200, load_openapi(), {})
        if path == CHAT_PAGE_PATH and method in ("GET", "HEAD"):
            from invoke_proxy.records import Document

            page, headers = chat_page()
            return Document(200, headers, page)
        return self._proxy.open(method, path, body, request_id, remaining_ms, **identity)


def endpoint_of(args: argparse.Namespace, session: Any) -> tuple[str, str | None, str | None]:
    """(endpoint name, inference component, region): the flags, then the stack's outputs."""
    endpoint_name, region = args.endpoint_name, args.region
    component = args.inference_component_name
    if args.stack:
        cfn_region = region or session.get_config_variable("region")
        outputs = transport.stack_outputs(
            transport.create_client(session, "cloudformation", cfn_region), args.stack
        )
        endpoint_name = endpoint_name or outputs.get("EndpointName")
        component = component or outputs.get("InferenceComponentName")
        region = region or outputs.get("Region") or cfn_region
    if not endpoint_name:
        raise CliError("serve needs --endpoint-name NAME, or --stack STACK_NAME with an EndpointName output.")
    return endpoint_name, component, region


def proxy_environment(
    args: argparse.Namespace, endpoint_name: str, component: str | None, region: str | None
) -> dict[str, str]:
    """The function's environment, as InvokeProxy would set it (the contract's names)."""
    env = {
        contract.ENV_ENDPOINT_NAME: endpoint_name,
        contract.ENV_MAX_INPUT_LENGTH: str(args.max_input_length),
        contract.ENV_MAX_TOTAL_TOKENS: str(args.max_total_tokens),
        contract.ENV_DEFAULT_MAX_NEW_TOKENS: str(args.default_max_new_tokens),
        contract.ENV_MODEL_ID: args.model_id,
        contract.ENV_PROMPT_FORMAT: args.prompt_format,
        contract.ENV_LOG_PROMPTS: "true" if args.log_prompts else "false",
    }
    if region:
        env["AWS_REGION"] = region
    if component:  # a scale-to-zero endpoint: every invocation names its inference component
        env[contract.ENV_INFERENCE_COMPONENT_NAME] = component
    if args.profile:
        env["AWS_PROFILE"] = args.profile
    return env


class _NoProxy:
    """Behind ``OpenApiProxy`` when ``serve`` fronts a door: a route OpenApiProxy does not answer is the door's."""

    def open(self, *args: Any, **kwargs: Any) -> None:
        return None


def local_route(method: str, path: str) -> door_forward.LocalAnswer | None:
    """What ``serve`` answers itself in front of a door, as in front of a local proxy (its OpenAPI document and
    whatever else ``OpenApiProxy`` adds); None: the door's route."""
    answer = OpenApiProxy(_NoProxy()).open(method, path, b"", "local")
    if answer is None:
        return None
    from invoke_proxy.encoding import json_text

    headers = dict(answer.headers)
    if isinstance(answer.body, bytes | str) and any(k.lower() == "content-type" for k in headers):
        body = answer.body.encode("utf-8") if isinstance(answer.body, str) else answer.body
    else:
        body = json_text(answer.body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return answer.status, headers, body


def serve_door(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """Forward every request from localhost to the deployed door, signed with the caller's credentials."""
    if args.endpoint_name or args.inference_component_name:
        raise CliError(
            "--endpoint-name and --inference-component-name run the proxy here; --url and --door front a "
            "deployed one: pick one way."
        )
    session = signing.make_session(args.profile)
    target = transport.resolve_target(args, session)
    signer = transport.signer_for(session, target)
    server = door_forward.DoorForwarder((args.host, args.port), target, signer, local=local_route)
    host, port = str(server.server_address[0]), server.server_address[1]
    if args.host not in transport.LOOPBACK_HOSTS:
        err.write("warning: serving beyond loopback: whoever reaches this port calls the door as you.\n")
    signing_note = f"signed for {target.service} in {target.region}" if signer else "unsigned"
    out.write(f"Forwarding to {target.url} ({signing_note}) on http://{host}:{port}/\n")
    out.flush()
    return _run(server)


def _run(server: Any) -> int:
    """Serve until Ctrl-C, then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def local_app(proxy: Any, host: str, port: int) -> Any:
    """The HTTP app ``serve`` runs in front of a local ``proxy`` (``invoke_proxy.core.Proxy``): the proxy's own
    (``http_server.make_server``), plus ``OpenApiProxy``'s routes. Bound (port 0 picks a free one); call
    ``serve_forever`` to run it."""
    from invoke_proxy.http_server import make_server

    return make_server(OpenApiProxy(proxy), host, port)  # type: ignore[arg-type]  # the proxy, plus two routes


def cmd_serve(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    if args.url or args.door:
        return serve_door(args, out, err)
    endpoint_name, component, region = endpoint_of(args, signing.make_session(args.profile))
    # The same configuration path as in Lambda: environment variables, read by load_config.
    os.environ.update(proxy_environment(args, endpoint_name, component, region))
    # The streaming function's own HTTP app (behind the Lambda Web Adapter in AWS): every route, streamed too.
    from invoke_proxy.config import ConfigError, load_config
    from invoke_proxy.core import Proxy
    from invoke_proxy.json_logs import JsonLogFormatter
    from invoke_proxy.sagemaker import create_client as create_runtime_client

    stream = logging.StreamHandler(err)
    stream.setFormatter(JsonLogFormatter())
    logging.getLogger("invoke_proxy").addHandler(stream)
    try:
        config = load_config(os.environ)
    except ConfigError as exc:
        raise CliError(f"Invalid configuration: {exc}") from None
    server = local_app(Proxy(config, create_runtime_client(config)), args.host, args.port)
    host, port = str(server.server_address[0]), server.server_address[1]
    if args.host not in transport.LOOPBACK_HOSTS:
        err.write("warning: serving beyond loopback: this local server does no authentication.\n")
    out.write(f"Serving the invoke proxy for endpoint {endpoint_name} on http://{host}:{port}/\n")
    out.write(f"OpenAPI document: http://{host}:{port}{OPENAPI_PATH}\n")
    out.write(f"Chat page: http://{host}:{port}{CHAT_PAGE_PATH}\n")
    out.flush()
    return _run(server)


def add_parser(commands: Any) -> None:
    """``serve``'s subcommand. It runs the proxy itself: no URL to call, no answer to print, no client timeout
    or wait, so it takes only what locates the endpoint and configures the proxy (not `where and who`)."""
    serve = commands.add_parser(
        "serve",
        help="local dev mode: serve the proxy on localhost against a real endpoint, or front a deployed door",
        description="Serve the invoke proxy's HTTP app (every route, streaming too, its OpenAPI document at "
        f"{OPENAPI_PATH} and a chat page at {CHAT_PAGE_PATH}) on localhost, calling a deployed SageMaker "
        "endpoint with your credentials. Or, given a door (--url, or --stack with --door), forward every "
        "request to that deployed door, SigV4-signed with your credentials, answers streamed through as they "
        "arrive. No authentication: keep it on loopback.",
    )
    endpoint = serve.add_argument_group("the endpoint")
    endpoint.add_argument(
        "--stack",
        default=argparse.SUPPRESS,
        help="read EndpointName, InferenceComponentName and Region from this stack's outputs (with --door: "
        "the door's URL)",
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
    door = serve.add_argument_group("or front a deployed door (instead of running the proxy here)")
    transport.add_door_arguments(
        door, stack=False, url_help="forward to this door: the function URL or the private API's stage URL"
    )
    listen = serve.add_argument_group("the local server")
    listen.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (no authentication!)")
    listen.add_argument("--port", type=int, default=8080, help="default: 8080; 0 picks a free port")
    listen.add_argument("--log-prompts", action="store_true", help="log prompt text (debugging only)")
    _add_model_limits(serve)


def _add_model_limits(serve: argparse.ArgumentParser) -> None:
    defaults = contract.RUNTIME_DEFAULTS
    model = serve.add_argument_group("the model's limits and format", "set them as the endpoint was deployed")
    model.add_argument(
        "--max-input-length",
        type=int,
        default=defaults.max_input_length,
        help="TGI's MAX_INPUT_LENGTH, in tokens (context maxInputLength; default: %(default)s)",
    )
    model.add_argument(
        "--max-total-tokens",
        type=int,
        default=defaults.max_total_tokens,
        help="TGI's MAX_TOTAL_TOKENS, input plus output (context maxTotalTokens; default: %(default)s)",
    )
    model.add_argument(
        "--default-max-new-tokens",
        type=int,
        default=defaults.default_max_new_tokens,
        help="max_new_tokens when a request sets none (context defaultMaxNewTokens; default: %(default)s)",
    )
    model.add_argument(
        "--model-id",
        default=defaults.model_id,
        help="the model id /health and OpenAI answers report (default: %(default)s)",
    )
    model.add_argument(
        "--prompt-format",
        default=defaults.prompt_format,
        choices=list(contract.PROMPT_FORMATS),
        help="mistral-instruct serves /chat and /v1/chat/completions; none, for a base model (context "
        "model=base), only /generate (default: %(default)s)",
    )
