"""``mistral-invoke``: a SigV4-signing client for the invoke proxy's function URL, and a local dev server.

No CDK here: the client needs only botocore (credentials, signing, the stack lookup), the proxy's runtime (its
contract; ``serve`` runs its HTTP app) and the standard library. botocore is imported when a command needs it,
so ``--help`` stays instant. This module parses the command line; the commands are ``commands`` (generate,
chat, health, request), ``serve`` and ``preflight``, over ``signing``, ``transport`` and ``waiting``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from invoke_proxy.contract import RUNTIME_DEFAULTS

from . import preflight, serve, signing, transport, usage
from .commands import COMMANDS, Client
from .errors import CliError
from .transport import DEFAULT_TIMEOUT_SECONDS
from .version import VersionAction
from .waiting import DEFAULT_WAIT_SECONDS, parse_wait


def _add_parameters(parser: argparse.ArgumentParser, details: bool) -> None:
    group = parser.add_argument_group("generation parameters (TGI 1.1)")
    group.add_argument(
        "--max-new-tokens",
        type=int,
        help=f"tokens to generate (default: the proxy's, {RUNTIME_DEFAULTS.default_max_new_tokens})",
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
    transport.add_door_arguments(where)
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
        description="Call the Mistral invoke proxy through its IAM-protected door (the function URL or the "
        "private API), SigV4-signed for that door.",
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

    serve.add_parser(commands)
    preflight.add_parser(commands)
    usage.add_parser(commands)
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
            parser.error(f"--{name.replace('_', '-')} does not apply to {args.command}")


GLOBAL_DEFAULTS: dict[str, Any] = {
    "url": None,
    "stack": None,
    "door": None,
    "service": None,
    "api_id": None,
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
            return serve.cmd_serve(args, out, err)
        if args.command == "preflight":
            return preflight.run(args, out, err, signing.make_session(args.profile))
        if args.command == "usage":
            return usage.run(args, out, err, signing.make_session(args.profile))
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
        # Only serve needs boto3 (the proxy's runtime creates its SageMaker client with it): the serve extra.
        distribution = (
            "'mistral-endpoint-client[serve]'" if exc.name == "boto3" else "mistral-endpoint-client"
        )
        err.write(f"error: mistral-invoke needs {exc.name}: pip install {distribution}\n")
        return 1
    except Exception as exc:
        # Credential and profile problems (ProfileNotFound, SSO token expired, ...) are the user's to fix.
        if type(exc).__module__.startswith("botocore"):
            err.write(f"error: {exc}\n")
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
