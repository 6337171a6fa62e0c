"""Rebuild: replay the whole log into a fresh schema and swap it in while reads go on.

1. Tables are made in `projections_build` (primary keys only; build_schema.py). The horizon H
   (the feed's: the oldest transaction of this database still running,
   `timeline_feed_horizon()`, store/feed.py) is fixed: every
   event written by a transaction older than H is committed, and no new one can
   appear. Those events are loaded stream by stream (ordered by stream, then
   version), so each stream is folded once and its rows are written once,
   set-based (`projections.plan` and `write`: COPY, and one statement per table),
   the next batch read and folded while one is written (loading.py).
2. The events of transactions from H on are applied in feed order — by
   (writing transaction, position), up to the moving horizon — with the same
   `apply`. (A stream met in step 1 with a version missing,
   because that version's transaction is newer than H, reads it from the log; the
   feed meets it again later and skips it.)
   Each batch of either step commits with its cursor in `projections_build`, so a
   crash resumes from the last batch and the feed horizon is never held back for long.
3. The secondary indexes are made once, after the bulk load: those of the live
   schema (which a migration may have added) and those of `indexes.py`.
4. One short transaction takes `LOCK TABLE events IN EXCLUSIVE MODE`, which
   waits for appends in flight and blocks new ones (reads go on), and applies
   the rest of the feed with no horizon: once the lock is held every append
   has committed, and a horizon held back by any transaction on the server,
   in any database, must not hide them. It checks that every event of the log
   was applied, and swaps the schemas by renaming them. The old schema is
   dropped after the commit.

Until the swap, the live `projections` schema is untouched, so a crash at any
point leaves no half-built table in use. Two rebuilds never run at once (an
advisory lock). Connections keep working across the swap: PostgreSQL re-plans
a prepared statement when a schema is renamed, so a cached
`SELECT ... FROM projections.assertions` reads the new table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.projections import apply
from timeline.projections.build_schema import (
    BUILD_SCHEMA,
    OLD_SCHEMA,
    TABLES,
    Feed,
    prepare,
    translated,
)
from timeline.projections.bulk import collecting_after
from timeline.projections.indexes import create_indexes
from timeline.projections.loading import count, load_streams
from timeline.projections.revising import RowCache
from timeline.projections.schema import SCHEMA
from timeline.store.feed import HORIZON
from timeline.store.read import COLUMNS, row_to_recorded

_LOCK = 7261602

Progress_ = Callable[[int, int], None]


class RebuildResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a rebuild did: events applied (this run), the position built to, resumed or not."""

    events: int
    last_position: int
    resumed: bool
    seconds: float


class RebuildIncomplete(RuntimeError):
    """The rebuilt tables do not hold every event of the log; nothing was swapped in."""


def _batch_sql(horizon: bool) -> Any:
    limit_to_horizon = f"AND tx_id < {HORIZON} " if horizon else ""
    return text(
        f"SELECT {COLUMNS} FROM events "
        "WHERE (tx_id, position) > (CAST(CAST(:tx AS text) AS xid8), :pos) "
        f"{limit_to_horizon}ORDER BY tx_id, position LIMIT :limit"
    )


async def _apply_batch(
    conn: AsyncConnection,
    after: Feed,
    limit: int,
    *,
    horizon: bool,
    cache: RowCache | None = None,
) -> tuple[Feed, int, int]:
    """Apply the next events in feed order: (new cursor, events applied, last position)."""
    rows = (
        await conn.execute(
            _batch_sql(horizon), {"tx": str(after[0]), "pos": after[1], "limit": limit}
        )
    ).all()
    if not rows:
        return after, 0, 0
    recorded = [row_to_recorded(row) for row in rows]
    await apply(await translated(conn), recorded, cache=cache)
    cursor = (recorded[-1].tx_id, recorded[-1].position)
    await conn.execute(
        text(
            f"UPDATE {BUILD_SCHEMA}.build SET feed_tx_id = :tx, feed_position = :pos "
            "WHERE name = 'rebuild'"
        ),
        {"tx": cursor[0], "pos": cursor[1]},
    )
    await count(conn, len(recorded))
    return cursor, len(recorded), max(r.position for r in recorded)


async def rebuild(
    engine: AsyncEngine, *, batch_size: int = 5000, progress: Progress_ | None = None
) -> RebuildResult:
    """Replay the log into fresh projections and swap them in; `progress(done, total)`."""
    started = time.perf_counter()
    async with engine.connect() as lock:
        await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK})
        await lock.commit()
        try:
            return await _rebuild_locked(engine, lock, batch_size, progress, started)
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK})
            await lock.commit()


class _Run:
    """A rebuild's counters and its progress callback."""

    def __init__(self, done: int, total: int, progress: Progress_ | None) -> None:
        self.applied, self.done, self.total, self.last_position = 0, done, total, 0
        self.progress = progress

    def add(self, n: int, last: int) -> None:
        self.applied, self.done = self.applied + n, self.done + n
        self.last_position = max(self.last_position, last)
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))


async def _rebuild_locked(
    engine: AsyncEngine,
    lock: AsyncConnection,
    batch_size: int,
    progress: Progress_ | None,
    started: float,
) -> RebuildResult:
    build = await prepare(engine)
    async with engine.connect() as conn:
        total = int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)
    run = _Run(build.done, total, progress)
    cache = RowCache()
    if build.stream is not None:
        # the lock's connection, idle otherwise, reads and folds step 1's batches
        await load_streams(engine, lock, build.feed[0], build.stream, batch_size, cache, run.add)
    cursor, n = build.feed, batch_size
    while n == batch_size:  # a short batch reached the horizon
        async with engine.begin() as conn:
            with collecting_after():
                cursor, n, last = await _apply_batch(conn, cursor, n, horizon=True, cache=cache)
        run.add(n, last)
    await create_indexes(engine, BUILD_SCHEMA)
    async with engine.begin() as conn:
        for table in TABLES:
            await conn.execute(text(f"ANALYZE {BUILD_SCHEMA}.{table.name}"))
    async with engine.begin() as conn:
        # Appends wait from here to the commit; reads of the projections go on.
        await conn.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
        n = batch_size
        while n == batch_size:  # a short batch reached the end of the log
            with collecting_after():
                cursor, n, last = await _apply_batch(conn, cursor, n, horizon=False, cache=cache)
            run.add(n, last)
        await _check_complete(conn)
        await conn.execute(
            text(f"UPDATE {BUILD_SCHEMA}.build SET state = 'live', updated_at = now()")
        )
        await conn.execute(text(f"ALTER SCHEMA {SCHEMA} RENAME TO {OLD_SCHEMA}"))
        await conn.execute(text(f"ALTER SCHEMA {BUILD_SCHEMA} RENAME TO {SCHEMA}"))
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE"))
    if progress is not None:
        progress(run.done, run.done)
    return RebuildResult(
        events=run.applied,
        last_position=run.last_position,
        resumed=build.resumed,
        seconds=time.perf_counter() - started,
    )


async def _check_complete(conn: AsyncConnection) -> None:
    """Every event of the log went through the build once (appends are locked out)."""
    in_log = int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)
    built = int(await conn.scalar(text(f"SELECT events FROM {BUILD_SCHEMA}.build")) or 0)
    if built != in_log:
        raise RebuildIncomplete(
            f"the build read {built} events but the log holds {in_log}; nothing was swapped in"
        )
