"""The client's one error type: a failure with a message for the user."""

from __future__ import annotations


class CliError(Exception):
    """A failure with a message for the user (``mistral-invoke`` and ``mistral-bench`` print it and exit 1)."""
