"""Bulk import and restore: put exported events into this store, checked as a whole first.

Both stage the whole file in a session-local temporary table first, so it can
be checked as a whole (duplicates, conflicts with the store, version gaps, and
the domain's rules across streams: an assertion's timeline and cited sources
must exist, nothing follows a retraction, no report precedes its assertion's
first) before a single event is written. Then they move the staged rows into
`events` in batches, in file order. Each event keeps its stream, version,
type, data and `reported_at`; its transaction id and position are this store's
own, so the feed serves moved events like any others.

The two differ in whose clock and name the events carry (DESIGN §1, §3):
- an **import** appends afresh: `recorded_at` is this store's (the database
  sets it) and `metadata` is the importer's, never the file's;
- a **restore** (`restore_lines(..., keep_clocks=True)`) keeps the file's
  `recorded_at` and `metadata`, and is only for an empty store: a backup put
  back, where no answer pinned to a past `recorded_at` was ever given.

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


def _held(stream_type: str, stream_id: str, event_type: str | None = None) -> str:
    """SQL: the store or an earlier staged line holds an event of that stream (and type)."""
    typed = "" if event_type is None else f" AND p.type = '{event_type}'"
    return (
        f"(EXISTS (SELECT 1 FROM events p WHERE p.stream_type = '{stream_type}' "
        f"AND p.stream_id = {stream_id}{typed}) OR EXISTS (SELECT 1 FROM {STAGING} p "
        f"WHERE p.stream_type = '{stream_type}' AND p.stream_id = {stream_id}{typed} "
        "AND p.line < a.line))"
    )


# The rules a decision enforces on the write path, checked here across the file
# and the store, since an imported event skips the decision that made it.
_DOMAIN_PROBLEMS = f"""
  (SELECT a.line, format('timeline: assertion %s is on timeline %s, which neither this store '
                         'nor an earlier line opens', a.stream_id, a.timeline)
     FROM {STAGING} a
    WHERE a.type = 'AssertionRecorded' AND NOT {_held("timeline", "a.timeline")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.citations: source %s is registered neither in this store nor '
                         'on an earlier line', c.source_id)
     FROM {STAGING} a, jsonb_to_recordset(CASE jsonb_typeof(a.data->'citations')
                          WHEN 'array' THEN a.data->'citations' ELSE '[]' END)
                       AS c (source_id text)
    WHERE a.stream_type = 'assertion' AND NOT {_held("source", "c.source_id")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.citations: source %s was withdrawn before this line',
                         c.source_id)
     FROM {STAGING} a, jsonb_to_recordset(CASE jsonb_typeof(a.data->'citations')
                          WHEN 'array' THEN a.data->'citations' ELSE '[]' END)
                       AS c (source_id text)
    WHERE a.stream_type = 'assertion' AND {_held("source", "c.source_id", "SourceWithdrawn")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.source_id: source %s is withdrawn neither in this store nor on '
                         'an earlier line', a.data->>'source_id')
     FROM {STAGING} a
    WHERE a.type = 'CitedSourceWithdrawn'
      AND NOT {_held("source", "a.data->>'source_id'", "SourceWithdrawn")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('data.via: source %s is registered neither in this store nor on an '
                         'earlier line', a.data->>'via')
     FROM {STAGING} a
    WHERE a.type IN ('SourceRegistered', 'SourceUpdated') AND a.data->>'via' IS NOT NULL
      AND NOT {_held("source", "a.data->>'via'")}
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, CASE
            WHEN a.timeline IS DISTINCT FROM f.timeline
              THEN format('timeline: %s is not the timeline of assertion %s (%s)',
                          coalesce(a.timeline, 'null'), a.stream_id, f.timeline)
            ELSE format('reported_at: precedes the first report of assertion %s (%s)',
                        a.stream_id, f.reported_at) END
     FROM {STAGING} a
     JOIN LATERAL (SELECT timeline, reported_at FROM events p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.version = 1
                   UNION ALL
                   SELECT timeline, reported_at FROM {STAGING} p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.version = 1 AND p.line < a.line
                   LIMIT 1) f ON true
    WHERE a.stream_type = 'assertion' AND a.version > 1
      AND (a.timeline IS DISTINCT FROM f.timeline OR a.reported_at < f.reported_at)
    ORDER BY a.line LIMIT 1)
  UNION ALL
  (SELECT a.line, format('type: assertion %s was retracted at version %s; it cannot be %s',
                         a.stream_id, r.version,
                         CASE a.type WHEN 'AssertionRevised' THEN 'revised'
                                     ELSE 'retracted again' END)
     FROM {STAGING} a
     JOIN LATERAL (SELECT p.version FROM events p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.type = 'AssertionRetracted' AND p.version < a.version
                   UNION ALL
                   SELECT p.version FROM {STAGING} p
                    WHERE p.stream_type = 'assertion' AND p.stream_id = a.stream_id
                      AND p.type = 'AssertionRetracted' AND p.version < a.version
                   LIMIT 1) r ON true
    WHERE a.type IN ('AssertionRevised', 'AssertionRetracted')
    ORDER BY a.line LIMIT 1)
"""

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
  UNION ALL {_DOMAIN_PROBLEMS}
) problems ORDER BY line LIMIT 1
""")


def _insert_sql(keep_clocks: bool) -> str:
    """Staged rows of a line range that neither the store nor an earlier line holds.

    Afresh, recorded_at is left to the column's default (the transaction's
    now()) and metadata is the importer's; kept, both come from the file.
    """
    clocks = "a.metadata, a.recorded_at" if keep_clocks else "CAST(:metadata AS jsonb), now()"
    return f"""
INSERT INTO events (stream_type, stream_id, version, type, schema_version, data, timeline,
                    reported_at, metadata, recorded_at)
SELECT a.stream_type, a.stream_id, a.version, a.type, a.schema_version, a.data, a.timeline,
       a.reported_at, {clocks}
  FROM {STAGING} a
 WHERE a.line BETWEEN :first AND :last
   AND NOT EXISTS (SELECT 1 FROM events b WHERE {_SAME_KEY})
   AND NOT EXISTS (SELECT 1 FROM {STAGING} b WHERE {_SAME_KEY} AND b.line < a.line)
 ORDER BY a.line
"""


_RETURNING = (
    "RETURNING position, tx_id::text AS tx_id, stream_type, stream_id, version, "
    "type, schema_version, data::text AS data, metadata, timeline, reported_at, recorded_at"
)
_RESTORE = {keep: text(_insert_sql(keep) + _RETURNING) for keep in (False, True)}
_RESTORE_QUIETLY = {keep: text(_insert_sql(keep)) for keep in (False, True)}
_STORE_IS_EMPTY = text("SELECT NOT EXISTS (SELECT 1 FROM events)")


class StoreNotEmpty(StoreError):
    """A restore keeps the file's clocks, so it goes only into a store that holds no event."""

    def __init__(self) -> None:
        super().__init__(
            "restore keeps the file's recorded_at, so it needs an empty store; this one holds "
            "events (use `timeline import`, which appends afresh)"
        )


async def check_empty(conn: AsyncConnection) -> None:
    """StoreNotEmpty unless the events table is empty."""
    if not await conn.scalar(_STORE_IS_EMPTY):
        raise StoreNotEmpty()


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


async def restore_lines(
    conn: AsyncConnection,
    first: int,
    last: int,
    *,
    metadata: str = "{}",
    keep_clocks: bool = False,
) -> list[RecordedEvent]:
    """Insert the staged lines first..last the store lacks; returns them in position order.

    Each carries `metadata` (JSON) and this store's recorded_at, or with
    `keep_clocks` the file's own of both. Raises RestoreConflict when a
    concurrent writer took one of their stream versions after the check;
    nothing of the batch is then written.
    """
    rows = (await _insert(conn, _RESTORE[keep_clocks], first, last, metadata)).all()
    recorded = [row_to_recorded(row) for row in rows]
    recorded.sort(key=lambda r: r.position)
    return recorded


async def restore_lines_quietly(
    conn: AsyncConnection,
    first: int,
    last: int,
    *,
    metadata: str = "{}",
    keep_clocks: bool = False,
) -> int:
    """As restore_lines, returning only how many were inserted (no decoding)."""
    sql = _RESTORE_QUIETLY[keep_clocks]
    return int((await _insert(conn, sql, first, last, metadata)).rowcount)


async def _insert(conn: AsyncConnection, sql: Any, first: int, last: int, metadata: str) -> Any:
    params: dict[str, Any] = {"first": first, "last": last}
    if ":metadata" in str(sql):
        params["metadata"] = metadata
    try:
        return await conn.execute(sql, params)
    except DBAPIError as error:
        cause = getattr(error.orig, "__cause__", None) or error.orig
        if getattr(cause, "sqlstate", None) == "23505":
            raise RestoreConflict(
                first, f"a stream version in lines {first}-{last} was written meanwhile"
            ) from None
        raise
