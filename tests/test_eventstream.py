"""The event-stream framing the loopback stand-ins send is what botocore's own parser reads from AWS."""

from __future__ import annotations

import io

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStream
from botocore.exceptions import EventStreamError
from botocore.parsers import EventStreamJSONParser

from mistral_client import eventstream


def parsed(raw: bytes, chunk: int = 7) -> list[dict[str, object]]:
    """Events as botocore's SageMaker runtime client hands them out, the raw bytes arriving in small reads."""
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    output = model.operation_model("InvokeEndpointWithResponseStream").output_shape.members["Body"]

    class Raw:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def stream(self) -> object:
            while block := self._data.read(chunk):
                yield block

        def close(self) -> None:
            pass

    return list(EventStream(Raw(raw), output, EventStreamJSONParser(), "InvokeEndpointWithResponseStream"))


def test_payload_parts_arrive_as_payload_part_bytes_in_order() -> None:
    raw = eventstream.payload_part(b'data: {"token"') + eventstream.payload_part(b": 1}\n\n")
    assert parsed(raw) == [
        {"PayloadPart": {"Bytes": b'data: {"token"'}},
        {"PayloadPart": {"Bytes": b": 1}\n\n"}},
    ]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (eventstream.model_stream_error("too slow", "ModelInvocationTimeExceeded"), "ModelStreamError"),
        (eventstream.internal_stream_failure("broken"), "InternalStreamFailure"),
    ],
)
def test_exceptions_raise_botocores_event_stream_error(message: bytes, code: str) -> None:
    with pytest.raises(EventStreamError) as raised:
        parsed(eventstream.payload_part(b"x") + message)
    assert raised.value.response["Error"]["Code"] == code


def test_a_corrupted_message_fails_botocores_checksum() -> None:
    raw = bytearray(eventstream.payload_part(b"hello"))
    raw[-6] ^= 0xFF
    with pytest.raises(ChecksumMismatch):
        parsed(bytes(raw))
