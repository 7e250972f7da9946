"""Synth-time checks that name the value received and say how to fix it."""

from __future__ import annotations

from typing import cast

from aws_cdk import Duration, Token


class ConfigurationError(ValueError):
    """A construct prop or context value that AWS or TGI would reject.

    ``prop`` names the construct prop the message is about, when it is about one prop; the message then starts
    with that name, so the app can say the same thing about the context key that set the prop (``-c
    maxCapacity=0`` rather than ``max_capacity``).
    """

    def __init__(self, message: str, *, prop: str | None = None) -> None:
        super().__init__(message)
        #: The construct prop the message is about (None when it is about several, or none).
        self.prop = prop

    @property
    def reason(self) -> str:
        """The message without the prop name it starts with."""
        message = str(self)
        if self.prop and message.startswith(f"{self.prop} "):
            return message[len(self.prop) + 1 :]
        return message


def is_unresolved(value: object) -> bool:
    """True for CDK tokens, whose value is only known at deploy time and so cannot be checked here.

    Asks aws-cdk-lib (a round trip to jsii's Node process) only about a value that can be a token: aws-cdk-lib's
    own test (``unresolved`` in core/lib/private/encoding.ts) finds no token in a string without ``Token[`` and
    none in a number above -1e288 (a number token is a double near -1.8e289, marker bits 0xFBFF).
    """
    if isinstance(value, str):
        return "Token[" in value and Token.is_unresolved(value)
    if isinstance(value, int | float):
        return value < -1e288 and Token.is_unresolved(value)
    return False


def require_int(
    name: str,
    value: object,
    *,
    minimum: int,
    maximum: int | None = None,
    hint: str = "",
    allow_token: bool = False,
) -> int:
    """A whole number in range; a deploy-time token only where ``allow_token`` (nothing else depends on it)."""
    prop = _prop_of(name)
    if is_unresolved(value):
        if allow_token:
            return cast(int, value)
        raise ConfigurationError(
            f"{name} must be known at synth time (it sets TGI's limits and the proxy's checks), got a token: "
            "pass a literal number",
            prop=prop,
        )
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}{_then(hint)}", prop=prop)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigurationError(f"{name} must be {bounds}, got {value}{_then(hint)}", prop=prop)
    return value


def require_bool(name: str, value: object) -> bool:
    """A real boolean: ``"false"`` is a non-empty string, which Python would take for true."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {value!r}", prop=_prop_of(name))
    return value


def require_seconds(name: str, value: Duration, *, minimum: int, maximum: int, hint: str = "") -> int:
    prop = _prop_of(name)
    if not isinstance(value, Duration):
        raise ConfigurationError(f"{name} must be an aws_cdk.Duration, got {value!r}", prop=prop)
    seconds = value.to_seconds()
    if is_unresolved(seconds):
        return cast(int, seconds)  # a token stands for a number only known at deploy time
    if not float(seconds).is_integer() or not minimum <= seconds <= maximum:
        raise ConfigurationError(
            f"{name} must be a whole number of seconds between {minimum} and {maximum}, got {seconds} s{_then(hint)}",
            prop=prop,
        )
    return int(seconds)


def _then(hint: str) -> str:
    return f". {hint}" if hint else ""


def _prop_of(name: str) -> str:
    """``schedule start_hour`` is a field of the ``schedule`` prop: the prop is the name's first word."""
    return name.split(" ", 1)[0]
