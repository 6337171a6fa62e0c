"""Bulk restore: put exported events back with their own stream, version and clocks.

A restore stages the whole file in a session-local temporary table first, so
it can be checked as a whole (duplicates, conflicts with the store, version
gaps) before a single event is written. Then it moves the staged rows into
`events` in batches, in file order. Each event keeps its stream, version,
`reported_at` and `recorded_at`; its transaction id and position are this
store's own, so the feed serves restored events like any others.

Two rows are the same event when they agree on type, schema version, data,
timeline and `reported_at`. `recorded_at` and metadata are provenance, not
content: the same demo loaded into two stores at different times is the same
event and is skipped, not refused.

Functions take an AsyncConnection and never commit, except that the staging
table outlives commits (ON COMMIT PRESERVE ROWS) so the caller can commit
between batches and never hold the feed's horizon back for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.codec import RecordedEvent
from timeline.store.db import copy_records
from timeline.store.errors import StoreError
from timeline.store.read import row_to_recorded

STAGING = "restore_staging"
STAGED_COLUMNS = (
    "line",
    "stream_type",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "data",
    "metadata",
    "timeline",
    "reported_at",
    "recorded_at",
)


class StagedEvent(msgspec.Struct, frozen=True, array_like=True):
    """One exported event as staged: its line in the file, then the columns it restores."""

    line: int
    stream_type: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: str
    metadata: str
    timeline: str | None
    reported_at: datetime | None
    recorded_at: datetime


class RestoreConflict(StoreError):
    """A staged event that the store (or the file itself) contradicts."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


_CREATE = f"""
CREATE TEMPORARY TABLE {STAGING} (
  line bigint PRIMARY KEY,
  stream_type text NOT NULL,
  stream_id text NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  schema_version smallint NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  timeline text,
  reported_at timestamptz,
  recorded_at timestamptz NOT NULL
) ON COMMIT PRESERVE ROWS
"""

_SAME_KEY = "(a.stream_type, a.stream_id, a.version) = (b.stream_type, b.stream_id, b.version)"
_DIFFERENT = (
    "(a.type, a.schema_version, a.data, a.timeline, a.reported_at) IS DISTINCT FROM "
    "(b.type, b.schema_version, b.data, b.timeline, b.reported_at)"
)

# The first problem of the staged file, by line: an in-file duplicate with
# other content, an event the store holds with other content, or a version
# that follows nothing (neither an earlier line nor the store has version - 1).
_FIRST_PROBLEM = text(f"""
SELECT line, reason FROM (
  (SELECT a.line, format('stream %s/%s version %s: differs from line %s',
                         a.stream_type, a.stream_id, a.version, b.line) AS reason
     FROM {STAGING} a JOIN {STAGING} b ON {_SAME_KEY} AND b.line < a.line
    WHERE {_DIFFERENT} ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('stream %s/%s version %s: this store holds a different event there',
                         a.stream_type, a.stream_id, a.version)
     FROM {STAGING} a JOIN events b ON {_SAME_KEY}
    WHERE {_DIFFERENT} ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('stream %s/%s version %s: follows no version %s (not in the store '
                         'nor on an earlier line)',
                         a.stream_type, a.stream_id, a.version, a.version - 1)
     FROM {STAGING} a
    WHERE a.version > 1
      AND NOT EXISTS (SELECT 1 FROM {STAGING} p WHERE p.stream_type = a.stream_type
                        AND p.stream_id = a.stream_id AND p.version = a.version - 1
                        AND p.line < a.line)
      AND NOT EXISTS (SELECT 1 FROM events p WHERE p.stream_type = a.stream_type
                        AND p.stream_id = a.stream_id AND p.version = a.version - 1)
    ORDER BY a.line LIMIT 1)
) problems ORDER BY line LIMIT 1
""")

# Staged rows of a line range that neither the store nor an earlier line holds.
_INSERT = f"""
INSERT INTO events (stream_type, stream_id, version, type, schema_version, data, metadata,
                    timeline, reported_at, recorded_at)
SELECT a.stream_type, a.stream_id, a.version, a.type, a.schema_version, a.data, a.metadata,
       a.timeline, a.reported_at, a.recorded_at
  FROM {STAGING} a
 WHERE a.line BETWEEN :first AND :last
   AND NOT EXISTS (SELECT 1 FROM events b WHERE {_SAME_KEY})
   AND NOT EXISTS (SELECT 1 FROM {STAGING} b WHERE {_SAME_KEY} AND b.line < a.line)
 ORDER BY a.line
"""
_RESTORE = text(
    _INSERT + "RETURNING position, tx_id::text AS tx_id, stream_type, stream_id, version, "
    "type, schema_version, data::text AS data, metadata, timeline, reported_at, recorded_at"
)
_RESTORE_QUIETLY = text(_INSERT)


async def create_staging(conn: AsyncConnection) -> None:
    """A fresh, empty staging table in this session (a pooled session may hold an old one)."""
    await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{STAGING}"))
    await conn.execute(text(_CREATE))


async def drop_staging(conn: AsyncConnection) -> None:
    await conn.execute(text(f"DROP TABLE IF EXISTS pg_temp.{STAGING}"))


async def stage(conn: AsyncConnection, rows: Sequence[StagedEvent]) -> None:
    """COPY rows into the staging table."""
    if not rows:
        return
    await copy_records(
        conn,
        STAGING,
        schema=None,
        columns=STAGED_COLUMNS,
        records=[msgspec.structs.astuple(r) for r in rows],
    )


async def index_staging(conn: AsyncConnection) -> None:
    """Index the staged keys once they are all in (faster than indexing row by row)."""
    await conn.execute(text(f"CREATE INDEX ON {STAGING} (stream_type, stream_id, version, line)"))
    await conn.execute(text(f"ANALYZE {STAGING}"))


async def first_problem(conn: AsyncConnection) -> RestoreConflict | None:
    """The first staged line the file or the store contradicts, or None."""
    row = (await conn.execute(_FIRST_PROBLEM)).first()
    return None if row is None else RestoreConflict(int(row.line), str(row.reason))


async def restore_lines(conn: AsyncConnection, first: int, last: int) -> list[RecordedEvent]:
    """Insert the staged lines first..last the store lacks; returns them in position order.

    Raises RestoreConflict when a concurrent writer took one of their stream
    versions after the check; nothing of the batch is then written.
    """
    rows = (await _insert(conn, _RESTORE, first, last)).all()
    recorded = [row_to_recorded(row) for row in rows]
    recorded.sort(key=lambda r: r.position)
    return recorded


async def restore_lines_quietly(conn: AsyncConnection, first: int, last: int) -> int:
    """As restore_lines, returning only how many were inserted (no decoding)."""
    return int((await _insert(conn, _RESTORE_QUIETLY, first, last)).rowcount)


async def _insert(conn: AsyncConnection, sql: Any, first: int, last: int) -> Any:
    try:
        return await conn.execute(sql, {"first": first, "last": last})
    except DBAPIError as error:
        cause = getattr(error.orig, "__cause__", None) or error.orig
        if getattr(cause, "sqlstate", None) == "23505":
            raise RestoreConflict(
                first, f"a stream version in lines {first}-{last} was written meanwhile"
            ) from None
        raise
