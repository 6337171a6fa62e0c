"""Read streams, in version order: one statement, sent straight to the asyncpg connection."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent, decode_data
from timeline.store.db import fetch

COLUMNS = (
    "position, tx_id::text AS tx_id, stream_type, stream_id, version, type, schema_version, "
    "data::text AS data, metadata, timeline, reported_at, recorded_at"
)

# Both run on the driver connection, inside the caller's transaction: the write
# path reads before every decision, and SQLAlchemy's execute costs more client
# CPU than the read's round trip.
_READ_STREAM = (
    f"SELECT {COLUMNS} FROM events WHERE stream_type = $1 AND stream_id = $2 "
    "AND ($3::timestamptz IS NULL OR recorded_at <= $3) ORDER BY version"
)

_READ_STREAMS = (
    f"SELECT {COLUMNS} FROM events "
    "JOIN unnest($1::text[], $2::text[]) AS wanted (stream_type, stream_id) "
    "USING (stream_type, stream_id) ORDER BY stream_type, stream_id, version"
)


def row_to_recorded(row: Row[Any]) -> RecordedEvent:
    """A RecordedEvent from a SQLAlchemy row selected with COLUMNS."""
    return record_to_recorded(row._mapping)


def record_to_recorded(record: Any) -> RecordedEvent:
    """A RecordedEvent from a record selected with COLUMNS (asyncpg's, or a row's mapping)."""
    return RecordedEvent(
        position=record["position"],
        tx_id=int(record["tx_id"]),
        stream_type=record["stream_type"],
        stream_id=record["stream_id"],
        version=record["version"],
        type=record["type"],
        schema_version=record["schema_version"],
        event=decode_data(record["type"], record["schema_version"], record["data"]),
        metadata=record["metadata"],
        timeline=record["timeline"],
        reported_at=record["reported_at"],
        recorded_at=record["recorded_at"],
    )


async def read_stream(
    conn: AsyncConnection, stream: StreamRef, *, recorded_at: datetime | None = None
) -> list[RecordedEvent]:
    """The stream's events in version order; with `recorded_at`, as the store held it then."""
    records = await fetch(conn, _READ_STREAM, stream.type, stream.id, recorded_at)
    return [record_to_recorded(record) for record in records]


async def read_streams(
    conn: AsyncConnection, streams: Iterable[StreamRef]
) -> dict[StreamRef, list[RecordedEvent]]:
    """Several streams in one round trip: each one's events in version order (empty if none)."""
    wanted = list(dict.fromkeys(streams))
    found: dict[StreamRef, list[RecordedEvent]] = {stream: [] for stream in wanted}
    if not wanted:
        return found
    records = await fetch(conn, _READ_STREAMS, [s.type for s in wanted], [s.id for s in wanted])
    for record in records:
        found[StreamRef(record["stream_type"], record["stream_id"])].append(
            record_to_recorded(record)
        )
    return found
