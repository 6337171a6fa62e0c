"""The NDJSON log format: one event per line, without store-local cursors or positions.

A line holds `stream_type, stream_id, version, type, schema_version, data,
metadata, timeline, reported_at, recorded_at`, in that order. `data` is the
event as stored (its shape at `schema_version`), never upcast: a restore puts
back exactly what was written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from timeline.domain.errors import DomainError
from timeline.domain.events import (
    EVENT_TYPES,
    AssertionRecorded,
    AssertionRevised,
    Event,
    SourceRegistered,
    TimelineOpened,
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

# The columns' own ranges: a value beyond them would fail in the driver or the
# database, after the file was judged good.
MAX_VERSION = 2**63 - 1
MAX_SCHEMA_VERSION = 2**15 - 1
# A report dated later than this past the import's clock is a typo or a forgery:
# every later event of its assertion would then precede its first report.
FUTURE_SKEW = timedelta(minutes=5)
OPENING_TYPES: frozenset[str] = frozenset(
    str(cls.__struct_config__.tag) for cls in (TimelineOpened, SourceRegistered, AssertionRecorded)
)


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


def _check_time(value: datetime | None, field: str, now: datetime | None) -> None:
    """An aware time that PostgreSQL can store (years 1-9999 in UTC), not in the future."""
    if value is None:
        return
    if value.utcoffset() is None:
        raise ValueError(f"{field}: needs a time zone (RFC 3339)")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{field}: {value.isoformat()} is outside years 1-9999 in UTC") from None
    if now is not None and in_utc > now + FUTURE_SKEW:
        raise ValueError(f"{field}: {in_utc.isoformat()} is in the future")


def _nul_at(value: Any, path: str) -> str | None:
    """The path of the first string holding U+0000 (PostgreSQL text and jsonb refuse it)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, path) or _nul_at(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_at(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _check_ranges(line: LogLine) -> None:
    if not 1 <= line.version <= MAX_VERSION:
        raise ValueError(f"version: must be between 1 and {MAX_VERSION}")
    if line.type not in EVENT_TYPES:
        raise ValueError(f"type: unknown event type {line.type!r}")
    if not 1 <= line.schema_version <= MAX_SCHEMA_VERSION:
        raise ValueError(f"schema_version: must be between 1 and {MAX_SCHEMA_VERSION}")
    if (line.version == 1) != (line.type in OPENING_TYPES):
        opening = "a stream opens with" if line.version == 1 else "only version 1 may be"
        raise ValueError(f"version: {opening} one of {', '.join(sorted(OPENING_TYPES))}")
    for name in ("stream_type", "stream_id", "timeline"):
        if "\x00" in (getattr(line, name) or ""):
            raise ValueError(f"{name}: holds U+0000, which this store cannot keep")
    for name in ("data", "metadata"):
        raw = bytes(getattr(line, name))
        # JSON text spells U+0000 one way, the escape \u0000 (a raw control byte is not
        # JSON): only a line holding it is decoded and walked for the path to name.
        if b"\\u0000" not in raw and b"\x00" not in raw:
            continue
        found = _nul_at(msgspec.json.decode(raw), name)
        if found:
            raise ValueError(f"{found}: holds U+0000, which this store cannot keep")


def _check_event(line: LogLine, event: Event) -> None:
    if line.stream_type != type(event).stream_type:
        raise ValueError(f"stream_type: a {line.type} belongs in a {type(event).stream_type!r}")
    if line.stream_id != _stream_id_of(event):
        raise ValueError(f"stream_id: {line.stream_id!r} is not the id in data")
    if line.reported_at != reported_at_of(event):
        raise ValueError("reported_at: differs from the event's own")
    if line.stream_type == "timeline" and line.timeline != line.stream_id:
        raise ValueError(f"timeline: a timeline's events carry its slug {line.stream_id!r}")
    if line.stream_type == "source" and line.timeline is not None:
        raise ValueError("timeline: a source belongs to no timeline (null)")
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


def parse_line(raw: bytes, number: int, now: datetime | None = None) -> StagedEvent:
    """The staged row of line `number`, or BadLine saying what is wrong with it.

    With `now`, a `reported_at` or `recorded_at` later than `now` (give or take
    FUTURE_SKEW) is refused.
    """
    try:
        line = _decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise BadLine(number, str(error)) from None
    except msgspec.DecodeError as error:
        raise BadLine(number, f"not JSON ({error})") from None
    try:
        if not bytes(line.metadata).lstrip().startswith(b"{"):
            raise ValueError("metadata: must be a JSON object")
        _check_ranges(line)
        _check_time(line.reported_at, "reported_at", now)
        _check_time(line.recorded_at, "recorded_at", now)
        event = decode_data(line.type, line.schema_version, bytes(line.data))
        _check_event(line, event)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise BadLine(number, f"data: {error}") from None
    except (ValueError, OverflowError, RecursionError, MissingUpcaster, DomainError) as error:
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
