"""The NDJSON log format: one event per line, without store-local cursors or positions.

A line holds `stream_type, stream_id, version, type, schema_version, data,
metadata, timeline, reported_at, recorded_at`, in that order. `data` is the
event as stored (its shape at `schema_version`), never upcast: a restore puts
back exactly what was written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from timeline.domain.errors import DomainError
from timeline.domain.events import (
    EVENT_TYPES,
    AssertionRecorded,
    AssertionRevised,
    Event,
    reported_at_of,
)
from timeline.domain.kinds import KINDS
from timeline.domain.occurred import parse_occurred
from timeline.domain.upcast import MissingUpcaster
from timeline.store.codec import decode_data
from timeline.store.restore import StagedEvent


class LogLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    stream_type: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: msgspec.Raw
    metadata: msgspec.Raw
    timeline: str | None
    reported_at: datetime | None
    recorded_at: datetime
    # The event's leaf in the verifiable log (docs/log.md); None until integrated. An
    # import ignores it: the importing store's log gives the event a leaf of its own.
    log_index: int | None = None


class BadLine(ValueError):
    """A line of an import file that is not an event this store can restore."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


_decoder = msgspec.json.Decoder(LogLine)
_encoder = msgspec.json.Encoder()


def encode_line(row: Any) -> bytes:
    """One line (with its newline) from a row of the events table selected as text."""
    line = LogLine(
        stream_type=row.stream_type,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        schema_version=row.schema_version,
        data=msgspec.Raw(row.data.encode()),
        metadata=msgspec.Raw(row.metadata.encode()),
        timeline=row.timeline,
        reported_at=row.reported_at,
        recorded_at=row.recorded_at,
        log_index=getattr(row, "log_index", None),
    )
    return _encoder.encode(line) + b"\n"


def _stream_id_of(event: Event) -> str | None:
    for name in ("assertion_id", "source_id", "slug"):
        value = getattr(event, name, None)
        if isinstance(value, str):
            return value
    return None


def _check_aware(value: datetime | None, field: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{field}: needs a time zone (RFC 3339)")


def _check_event(line: LogLine, event: Event) -> None:
    if line.stream_type != type(event).stream_type:
        raise ValueError(f"stream_type: a {line.type} belongs in a {type(event).stream_type!r}")
    if line.stream_id != _stream_id_of(event):
        raise ValueError(f"stream_id: {line.stream_id!r} is not the id in data")
    if line.reported_at != reported_at_of(event):
        raise ValueError("reported_at: differs from the event's own")
    if isinstance(event, AssertionRecorded):
        if line.timeline != event.timeline:
            raise ValueError(f"timeline: {line.timeline!r} is not the assertion's")
        parse_occurred(event.occurred, field="data.occurred")
        if event.kind not in KINDS:
            raise ValueError(f"data.kind: unknown kind {event.kind!r}")
    if isinstance(event, AssertionRevised):
        if isinstance(event.occurred, str):
            parse_occurred(event.occurred, field="data.occurred")
        if isinstance(event.kind, str) and event.kind not in KINDS:
            raise ValueError(f"data.kind: unknown kind {event.kind!r}")


def parse_line(raw: bytes, number: int) -> StagedEvent:
    """The staged row of line `number`, or BadLine saying what is wrong with it."""
    try:
        line = _decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise BadLine(number, str(error)) from None
    except msgspec.DecodeError as error:
        raise BadLine(number, f"not JSON ({error})") from None
    try:
        if line.version < 1:
            raise ValueError("version: must be 1 or more")
        if line.type not in EVENT_TYPES:
            raise ValueError(f"type: unknown event type {line.type!r}")
        if line.schema_version < 1:
            raise ValueError("schema_version: must be 1 or more")
        if not bytes(line.metadata).lstrip().startswith(b"{"):
            raise ValueError("metadata: must be a JSON object")
        _check_aware(line.reported_at, "reported_at")
        _check_aware(line.recorded_at, "recorded_at")
        event = decode_data(line.type, line.schema_version, bytes(line.data))
        _check_event(line, event)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise BadLine(number, f"data: {error}") from None
    except (ValueError, MissingUpcaster, DomainError) as error:
        raise BadLine(number, str(error)) from None
    return StagedEvent(
        line=number,
        stream_type=line.stream_type,
        stream_id=line.stream_id,
        version=line.version,
        type=line.type,
        schema_version=line.schema_version,
        data=bytes(line.data).decode(),
        metadata=bytes(line.metadata).decode(),
        timeline=line.timeline,
        reported_at=line.reported_at,
        recorded_at=line.recorded_at,
    )
