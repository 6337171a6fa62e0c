"""Append events: one statement, checked by PostgreSQL itself, answering with the events as stored.

The server-side function `timeline_write` (migration 0008, sql/timeline_write.v2.sql)
takes a whole write:
the events of one or more streams, each with the version its writer read
(optimistic concurrency), the idempotency key, and the rows the projections
want changed with them. It returns where the events landed: positions,
versions, the writing transaction's id and recorded_at, so the caller builds
its RecordedEvents from what was stored, not from guesses. It runs inside the
caller's transaction when there is one (`append_to_stream`, the store's own
tests), or as a transaction of its own on an autocommit connection (the
command runner: its second and last round trip).

The unique (stream_type, stream_id, version) constraint is the last word on
concurrency: of two writers that read the same version, the second's insert
fails and this module turns that into StreamVersionConflict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import Event
from timeline.store.codec import RecordedEvent, encode_data, reported_at_for_row, type_of
from timeline.store.db import fetch
from timeline.store.errors import IdempotencyKeyReused, StreamVersionConflict

DEFAULT_IDEMPOTENCY_TTL = 24 * 3600

# A position the log has not assigned yet: PENDING + k stands for the k-th event
# (1-based) of a write, in projection rows computed before it (migration 0007).
PENDING = 1 << 62


class StreamRef(msgspec.Struct, frozen=True):
    """A stream: its type (timeline, source, assertion) and id."""

    type: str
    id: str


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    """Where a write landed: its first stream's version and positions, and every event as stored.

    `replayed` when an idempotency key matched: then nothing was written,
    `events` is empty, `tx_id` None, and the rest is what the first write stored.
    """

    stream: StreamRef
    version: int
    positions: tuple[int, ...]
    recorded_at: datetime
    replayed: bool = False
    tx_id: int | None = None
    events: tuple[RecordedEvent, ...] = ()


class Append(msgspec.Struct, frozen=True, kw_only=True):
    """Events for one stream, after `expected` (None: wherever it is; 0: a new stream).

    `data` holds each event's JSON (codec.encode_data), encoded once by the
    caller, which may use it again (the projections' rows do).
    """

    stream: StreamRef
    expected: int | None
    events: Sequence[Event]
    data: Sequence[str]
    metadata: Mapping[str, Any]
    timeline: str | None = None


class Key(msgspec.Struct, frozen=True):
    """An idempotency key, the hash of the request it was sent with, and how long it lives.

    `owner` scopes it: the writer's actor (`key:<api key id>`), '' for none. Two owners'
    keys of the same text are two keys; one never replays, refuses or waits on the other.
    """

    key: str
    request_hash: bytes
    ttl: int = DEFAULT_IDEMPOTENCY_TTL
    owner: str = ""


class ProjectionRows(msgspec.Struct, frozen=True, kw_only=True):
    """Rows the projections change with a write, each a JSON array of rows in a table's columns.

    The store does not read them; `timeline_write` writes them in the same statement.
    """

    timelines: str | None = None
    sources: str | None = None
    assertions: str | None = None
    revisions: str | None = None
    cuts: str | None = None


NO_ROWS = ProjectionRows()

# Sent straight to the asyncpg connection (asyncpg prepares it once per
# connection): SQLAlchemy's execute path costs more client CPU than the
# statement's whole round trip.
_WRITE = (
    "SELECT replayed, tx_id, recorded_at, positions, versions, stream_type, stream_id, version "
    "FROM timeline_write($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
    "$15, $16, $17, $18, $19, $20)"
)

_FIND_KEY = (
    "SELECT request_hash, stream_type, stream_id, version, positions, recorded_at "
    "FROM idempotency_keys "
    "WHERE owner = $1 AND key = $2 AND created_at > now() - make_interval(secs => $3)"
)

_metadata_encoder = msgspec.json.Encoder()


def request_hash(*parts: object) -> bytes:
    """A stable hash of a request's content, for idempotency checks."""
    return hashlib.sha256(msgspec.json.encode(parts, order="deterministic")).digest()


async def write(
    conn: AsyncConnection,
    appends: Sequence[Append],
    *,
    recorded_at: datetime | None = None,
    key: Key | None = None,
    rows: ProjectionRows = NO_ROWS,
) -> AppendResult:
    """Append every one of `appends` and write `rows`, in one statement; never commits.

    `recorded_at` is the time every event is recorded at (None: the
    transaction's now()). The key, when given, answers for the first append.
    Raises StreamVersionConflict when a stream is elsewhere than its append
    expects, and IdempotencyKeyReused when the key was used for other content.
    """
    if not appends or not all(a.events for a in appends):
        raise ValueError("a write needs at least one event in each of its streams")
    event_streams: list[int] = []
    types: list[str] = []
    schema_versions: list[int] = []
    data: list[str] = []
    reported: list[datetime | None] = []
    for index, append in enumerate(appends, start=1):
        for event, encoded in zip(append.events, append.data, strict=True):
            event_streams.append(index)
            types.append(type_of(event))
            schema_versions.append(event.schema_version)
            data.append(encoded)
            reported.append(reported_at_for_row(event))
    args = (
        [a.stream.type for a in appends],
        [a.stream.id for a in appends],
        [a.expected for a in appends],
        [_metadata_encoder.encode(a.metadata).decode() for a in appends],
        [a.timeline for a in appends],
        event_streams,
        types,
        schema_versions,
        data,
        reported,
        recorded_at,
        key.key if key else None,
        key.owner if key else None,
        key.request_hash if key else None,
        key.ttl if key else DEFAULT_IDEMPOTENCY_TTL,
        rows.timelines,
        rows.sources,
        rows.assertions,
        rows.revisions,
        rows.cuts,
    )
    try:
        (row,) = await fetch(conn, _WRITE, *args)
    except DBAPIError as error:
        raise _refusal(error, appends, key) from None
    if row["replayed"]:
        return replayed(row)
    tx_id = int(row["tx_id"])
    stored = row["recorded_at"]
    positions, versions = row["positions"], row["versions"]
    events: list[RecordedEvent] = []
    k = 0
    for append in appends:
        metadata = dict(append.metadata)
        for event in append.events:
            events.append(
                RecordedEvent(
                    position=positions[k],
                    tx_id=tx_id,
                    stream_type=append.stream.type,
                    stream_id=append.stream.id,
                    version=versions[k],
                    type=type_of(event),
                    schema_version=event.schema_version,
                    event=event,
                    metadata=metadata,
                    timeline=append.timeline,
                    reported_at=reported[k],
                    recorded_at=stored,
                )
            )
            k += 1
    return AppendResult(
        stream=appends[0].stream,
        version=row["version"],
        positions=tuple(e.position for e in events[: len(appends[0].events)]),
        recorded_at=stored,
        tx_id=tx_id,
        events=tuple(events),
    )


def _refusal(error: DBAPIError, appends: Sequence[Append], key: Key | None) -> Exception:
    """The store's error for what PostgreSQL refused, or the error itself."""
    cause, state = error.orig, getattr(error.orig, "sqlstate", None)
    if state == "23505" and getattr(cause, "constraint_name", "") == "events_stream_version_key":
        # Another writer appended the same version first; the detail names the key.
        detail = getattr(cause, "detail", None) or ""
        stream = next(
            (a for a in appends if f"({a.stream.type}, {a.stream.id}, " in detail), appends[0]
        )
        return StreamVersionConflict(stream.stream.type, stream.stream.id, stream.expected, None)
    if state == "TL409":
        where = msgspec.json.decode(getattr(cause, "detail", None) or "{}")
        append = appends[int(where.get("stream", 1)) - 1]
        actual = int(where.get("version", -1))
        return StreamVersionConflict(append.stream.type, append.stream.id, append.expected, actual)
    if state == "TL422":
        return IdempotencyKeyReused(key.key if key else "")
    return error


async def append_to_stream(
    conn: AsyncConnection,
    stream: StreamRef,
    expected_version: int | None,
    events: Sequence[Event],
    *,
    idempotency_key: str | None = None,
    idempotency_hash: bytes | None = None,
    idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL,
    idempotency_owner: str = "",
    metadata: Mapping[str, Any] | None = None,
    timeline: str | None = None,
) -> AppendResult:
    """Append `events` to one stream after `expected_version` (None: any; 0: a new stream).

    Raises StreamVersionConflict when the stream is elsewhere, and
    IdempotencyKeyReused when the key was used for other content. Never commits.
    """
    if not events:
        raise ValueError("append_to_stream needs at least one event")
    data = [encode_data(e) for e in events]
    key = None
    if idempotency_key is not None:
        digest = idempotency_hash or request_hash(stream.type, stream.id, data)
        key = Key(idempotency_key, digest, idempotency_ttl, idempotency_owner)
    append = Append(
        stream=stream,
        expected=expected_version,
        events=events,
        data=data,
        metadata=metadata or {},
        timeline=timeline,
    )
    return await write(conn, [append], key=key)


async def find_idempotent(
    conn: AsyncConnection,
    key: str,
    content_hash: bytes,
    *,
    ttl: int = DEFAULT_IDEMPOTENCY_TTL,
    owner: str = "",
) -> AppendResult | None:
    """The first result of `owner`'s live key, None for a new one; IdempotencyKeyReused on a
    mismatch."""
    rows = await fetch(conn, _FIND_KEY, owner, key, ttl)
    if not rows or rows[0]["version"] is None:
        return None
    row = rows[0]
    if bytes(row["request_hash"]) != content_hash:
        raise IdempotencyKeyReused(key)
    return replayed(row)


def replayed(row: Any) -> AppendResult:
    """The first write's result, as its key row recorded it: what a replay answers."""
    return AppendResult(
        stream=StreamRef(row["stream_type"], row["stream_id"]),
        version=row["version"],
        positions=tuple(row["positions"] or ()),
        recorded_at=row["recorded_at"],
        replayed=True,
    )
