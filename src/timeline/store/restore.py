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
from timeline.store.restore_sql import (
    CREATE_STAGING,
    FIRST_PROBLEM,
    RETURNING,
    STAGING,
    insert_sql,
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


# The staging table's columns, in the order a StagedEvent's tuple holds their values.
STAGED_COLUMNS: tuple[str, ...] = StagedEvent.__struct_fields__


class RestoreConflict(StoreError):
    """A staged event that the store (or the file itself) contradicts."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


_RESTORE = {keep: text(insert_sql(keep) + RETURNING) for keep in (False, True)}
_RESTORE_QUIETLY = {keep: text(insert_sql(keep)) for keep in (False, True)}
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
    await conn.execute(text(CREATE_STAGING))


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
    row = (await conn.execute(FIRST_PROBLEM)).first()
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
