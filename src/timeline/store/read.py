"""Read one stream, in version order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent, decode_data

COLUMNS = (
    "position, tx_id::text AS tx_id, stream_type, stream_id, version, type, schema_version, "
    "data::text AS data, metadata, timeline, reported_at, recorded_at"
)

_READ_STREAM = text(
    f"SELECT {COLUMNS} FROM events WHERE stream_type = :stream_type AND stream_id = :stream_id "
    "AND (CAST(:recorded_at AS timestamptz) IS NULL OR recorded_at <= :recorded_at) "
    "ORDER BY version"
)

_STREAM_VERSION = text(
    "SELECT coalesce(max(version), 0) FROM events "
    "WHERE stream_type = :stream_type AND stream_id = :stream_id"
)


def row_to_recorded(row: Row[Any]) -> RecordedEvent:
    """A RecordedEvent from a row selected with COLUMNS."""
    return RecordedEvent(
        position=row.position,
        tx_id=int(row.tx_id),
        stream_type=row.stream_type,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        schema_version=row.schema_version,
        event=decode_data(row.type, row.schema_version, row.data),
        metadata=row.metadata,
        timeline=row.timeline,
        reported_at=row.reported_at,
        recorded_at=row.recorded_at,
    )


async def read_stream(
    conn: AsyncConnection, stream: StreamRef, *, recorded_at: datetime | None = None
) -> list[RecordedEvent]:
    """The stream's events in version order; with `recorded_at`, as the store held it then."""
    result = await conn.execute(
        _READ_STREAM,
        {"stream_type": stream.type, "stream_id": stream.id, "recorded_at": recorded_at},
    )
    return [row_to_recorded(row) for row in result]


async def stream_version(conn: AsyncConnection, stream: StreamRef) -> int:
    """The stream's last version, 0 when it does not exist."""
    value = await conn.scalar(_STREAM_VERSION, {"stream_type": stream.type, "stream_id": stream.id})
    return int(value or 0)
