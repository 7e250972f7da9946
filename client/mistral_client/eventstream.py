"""AWS event-stream framing (``application/vnd.amazon.eventstream``), as SageMaker runtime sends it.

InvokeEndpointWithResponseStream answers with binary messages that botocore's ``EventStream`` parser reads:
a 12-byte prelude (total length, headers length, prelude CRC32), headers, the payload, and a CRC32 of all
that precedes it. Loopback stand-ins of SageMaker runtime (the benchmark's self-test, the streaming tests)
build their answers with these functions, so botocore parses exactly what it would parse from AWS.

Standard library only: no CDK, no botocore.
"""

from __future__ import annotations

import json
import struct
from binascii import crc32

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7  # header value type: UTF-8 string


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode("utf-8"), value.encode("utf-8")
    return (
        struct.pack("!B", len(name_bytes))
        + name_bytes
        + struct.pack("!BH", _STRING, len(value_bytes))
        + value_bytes
    )


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with string headers."""
    header_bytes = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack("!II", total, len(header_bytes))
    prelude += struct.pack("!I", crc32(prelude) & 0xFFFFFFFF)
    message = prelude + header_bytes + payload
    return message + struct.pack("!I", crc32(message) & 0xFFFFFFFF)


def payload_part(data: bytes) -> bytes:
    """A ``PayloadPart`` event: a piece of the model's answer (for TGI, bytes of its server-sent events)."""
    return encode_message(
        {
            ":event-type": "PayloadPart",
            ":message-type": "event",
            ":content-type": "application/octet-stream",
        },
        data,
    )


def model_stream_error(message: str, error_code: str = "ModelInvocationTimeExceeded") -> bytes:
    """A ``ModelStreamError`` exception event (error codes ModelInvocationTimeExceeded, StreamBroken)."""
    return _exception("ModelStreamError", {"Message": message, "ErrorCode": error_code})


def internal_stream_failure(message: str) -> bytes:
    """An ``InternalStreamFailure`` exception event."""
    return _exception("InternalStreamFailure", {"Message": message})


def _exception(exception_type: str, body: dict[str, str]) -> bytes:
    return encode_message(
        {
            ":exception-type": exception_type,
            ":message-type": "exception",
            ":content-type": "application/json",
        },
        json.dumps(body).encode("utf-8"),
    )
