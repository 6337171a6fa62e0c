"""Events to rows and back: the one place that knows tags and schema versions."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import msgspec

from timeline.domain.events import EVENT_TYPES, Event, reported_at_of
from timeline.domain.upcast import upcast


class UnknownEventType(LookupError):
    """A stored event whose type this code does not know."""


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the store holds it: the domain event plus where and when."""

    position: int
    tx_id: int
    stream_type: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    event: Event
    metadata: dict[str, Any]
    timeline: str | None
    reported_at: datetime | None
    recorded_at: datetime


_encoder = msgspec.json.Encoder()


def encode_data(event: Event) -> str:
    """The event's fields as JSON text, without its tag (the `type` column holds it)."""
    data = msgspec.to_builtins(event)
    data.pop("type", None)
    return _encoder.encode(data).decode()


def type_of(event: Event) -> str:
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


@cache
def _decoder(event_type: str) -> msgspec.json.Decoder[Event]:
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    return msgspec.json.Decoder(cls)


def decode_data(event_type: str, schema_version: int, data: str | bytes | dict[str, Any]) -> Event:
    """The domain event from a stored row, upcast when its shape is old."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventType(event_type)
    if schema_version == cls.schema_version and not isinstance(data, dict):
        return _decoder(event_type).decode(data)
    as_dict = data if isinstance(data, dict) else msgspec.json.decode(data)
    current = upcast(event_type, schema_version, cls.schema_version, as_dict)
    return msgspec.convert(current, cls)


def reported_at_for_row(event: Event) -> datetime | None:
    return reported_at_of(event)
