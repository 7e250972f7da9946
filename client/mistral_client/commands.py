"""``mistral-invoke``'s calling commands: generate, chat, health and request, through one ``Client``.

The ``Client`` holds where the proxy is, how to sign and where to print; every request goes through its
``send``, which waits while a scaled-to-zero model wakes (``waiting``). Streamed answers are read as they
arrive and printed token by token; a proxy deployed without streaming is called again, buffered.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable
from typing import IO, Any

from invoke_proxy.contract import CHAT, GENERATE, HEALTH

from . import signing
from .errors import CliError
from .transport import HttpAnswer, explain_failure, open_signed, read_events, resolve_target, signed_request
from .waiting import A, with_wake_wait


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
        self.session = signing.make_session(args.profile)  # one seam, for the tests
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


def _call_printing(client: Client, route: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Call ``route``, streamed tokens printed as they arrive; the answer, and whether it was printed already.
    The line of tokens is ended even when the answer breaks off."""
    streamed: list[str] = []
    try:
        answer = client.call_streaming(route, payload, client.printer(streamed))
    finally:
        if streamed:
            client.out.write("\n")
    return answer, bool(streamed) or "token" in answer


def cmd_generate(client: Client, args: argparse.Namespace, stdin: IO[str]) -> int:
    prompt = stdin.read() if args.prompt == "-" else args.prompt
    payload = {"inputs": prompt, "parameters": tgi_parameters(args)}
    answer, printed = _call_printing(client, GENERATE, payload)
    if printed:
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
        answer, printed = _call_printing(client, CHAT, {"messages": messages, "parameters": params})
        if "generated_text" in answer:  # streamed: the last event holds the answer
            content = client.field(answer, "generated_text")
        else:
            content = client.field(answer, "message", "content")
        # Only a turn that got an answer joins the history, so roles keep alternating after an error.
        history.extend([{"role": "user", "content": text}, {"role": "assistant", "content": content}])
        if printed:
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
    client.print_json(client.call("GET", HEALTH))
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


COMMANDS: dict[str, Callable[[Client, argparse.Namespace, IO[str]], int]] = {
    "generate": cmd_generate,
    "chat": cmd_chat,
    "health": cmd_health,
    "request": cmd_request,
}
