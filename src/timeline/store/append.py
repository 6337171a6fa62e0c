"""Append events to a stream: one round trip, checked by PostgreSQL itself.

The server-side function `timeline_append` (migrations 0001, made leaner in
0004) does the optimistic-concurrency check, the insert and the idempotency
record in one statement, sent straight to the asyncpg connection inside the
caller's transaction (store.db.driver_of). The unique
(stream_type, stream_id, version) constraint is the last word on concurrency:
of two writers that read the same version, the second's insert fails and this
module turns that into StreamVersionConflict.
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
from timeline.store.codec import encode_data, reported_at_for_row, type_of
from timeline.store.db import fetch
from timeline.store.errors import IdempotencyKeyReused, StreamVersionConflict

DEFAULT_IDEMPOTENCY_TTL = 24 * 3600


class StreamRef(msgspec.Struct, frozen=True):
    """A stream: its type (timeline, source, assertion) and id."""

    type: str
    id: str


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    """Where an append landed; `replayed` when an idempotency key matched."""

    stream: StreamRef
    version: int
    positions: tuple[int, ...]
    recorded_at: datetime | None
    replayed: bool = False


# Sent straight to the asyncpg connection (asyncpg prepares it once per
# connection): SQLAlchemy's execute path costs more client CPU than the
# statement's whole round trip.
_APPEND = (
    "SELECT replayed, stream_type, stream_id, version, positions, recorded_at "
    "FROM timeline_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)

_FIND_KEY = (
    "SELECT request_hash, stream_type, stream_id, version, positions, recorded_at "
    "FROM idempotency_keys WHERE key = $1 AND created_at > now() - make_interval(secs => $2)"
)


def request_hash(*parts: object) -> bytes:
    """A stable hash of a request's content, for idempotency checks."""
    return hashlib.sha256(msgspec.json.encode(parts, order="deterministic")).digest()


async def append_to_stream(
    conn: AsyncConnection,
    stream: StreamRef,
    expected_version: int | None,
    events: Sequence[Event],
    *,
    idempotency_key: str | None = None,
    idempotency_hash: bytes | None = None,
    idempotency_ttl: int = DEFAULT_IDEMPOTENCY_TTL,
    metadata: Mapping[str, Any] | None = None,
    timeline: str | None = None,
) -> AppendResult:
    """Append `events` after `expected_version` (None: any; 0: a new stream).

    Raises StreamVersionConflict when the stream is elsewhere, and
    IdempotencyKeyReused when the key was used for other content. Never commits.
    """
    if not events:
        raise ValueError("append_to_stream needs at least one event")
    data = [encode_data(e) for e in events]
    if idempotency_key is not None and idempotency_hash is None:
        idempotency_hash = request_hash(stream.type, stream.id, data)
    args = (
        stream.type,
        stream.id,
        expected_version,
        [type_of(e) for e in events],
        [e.schema_version for e in events],
        data,
        [reported_at_for_row(e) for e in events],
        msgspec.json.encode(dict(metadata or {})).decode(),
        timeline,
        idempotency_key,
        idempotency_hash,
        idempotency_ttl,
    )
    try:
        (row,) = await fetch(conn, _APPEND, *args)
    except DBAPIError as error:
        cause, state = error.orig, getattr(error.orig, "sqlstate", None)
        if state == "23505" and getattr(cause, "constraint_name", "") == (
            "events_stream_version_key"
        ):
            raise StreamVersionConflict(stream.type, stream.id, expected_version, None) from None
        if state == "TL409":
            actual = int(getattr(cause, "detail", None) or -1)
            raise StreamVersionConflict(stream.type, stream.id, expected_version, actual) from None
        if state == "TL422":
            raise IdempotencyKeyReused(idempotency_key or "") from None
        raise
    return AppendResult(
        stream=StreamRef(row["stream_type"], row["stream_id"]),
        version=row["version"],
        positions=tuple(row["positions"] or ()),
        recorded_at=row["recorded_at"],
        replayed=row["replayed"],
    )


async def find_idempotent(
    conn: AsyncConnection,
    key: str,
    content_hash: bytes,
    *,
    ttl: int = DEFAULT_IDEMPOTENCY_TTL,
) -> AppendResult | None:
    """The first result of a live key, None for a new one; IdempotencyKeyReused on a mismatch."""
    rows = await fetch(conn, _FIND_KEY, key, ttl)
    if not rows or rows[0]["version"] is None:
        return None
    row = rows[0]
    if bytes(row["request_hash"]) != content_hash:
        raise IdempotencyKeyReused(key)
    return AppendResult(
        stream=StreamRef(row["stream_type"], row["stream_id"]),
        version=row["version"],
        positions=tuple(row["positions"] or ()),
        recorded_at=row["recorded_at"],
        replayed=True,
    )
