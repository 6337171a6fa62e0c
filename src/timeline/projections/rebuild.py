"""Rebuild: replay the whole log into a fresh schema and swap it in while reads go on.

1. Tables are made in `projections_build` (primary keys only) and the log is
   applied to them in feed order — by (writing transaction, position), up to
   the visibility horizon — with the very `apply` the write path runs, through
   `schema_translate_map`. Each batch commits with its cursor in
   `projections_build.build`, so a crash resumes from the last batch and the
   feed horizon is never held back for long.
2. The secondary indexes are made once, after the bulk load.
3. One short transaction takes `LOCK TABLE events IN EXCLUSIVE MODE`, which
   waits for appends in flight and blocks new ones (reads go on), applies the
   last events, and swaps the schemas by renaming them. The old schema is
   dropped after the commit.

Until the swap, the live `projections` schema is untouched, so a crash at any
point leaves no half-built table in use. Two rebuilds never run at once (an
advisory lock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from timeline.projections import tables
from timeline.projections.update import apply_events
from timeline.store.read import COLUMNS, row_to_recorded

BUILD_SCHEMA = "projections_build"
OLD_SCHEMA = "projections_old"
_LOCK = 7261602
_TABLES = (tables.timelines, tables.sources, tables.assertions, tables.revisions, tables.build)

Progress_ = Callable[[int, int], None]


class RebuildResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a rebuild did: events applied (this run), the position built to, resumed or not."""

    events: int
    last_position: int
    resumed: bool
    seconds: float


async def _translated(conn: AsyncConnection) -> AsyncConnection:
    """The connection, writing `projections.*` statements into the build schema."""
    return await conn.execution_options(schema_translate_map={tables.SCHEMA: BUILD_SCHEMA})


async def _schema_exists(conn: AsyncConnection, name: str) -> bool:
    sql = text("SELECT 1 FROM pg_namespace WHERE nspname = :name")
    return await conn.scalar(sql, {"name": name}) is not None


async def _prepare(engine: AsyncEngine) -> tuple[int, int, bool]:
    """The build schema ready to load into: (tx_id, position) to resume after, and resumed?"""
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE"))
        if await _schema_exists(conn, BUILD_SCHEMA):
            row = (
                await conn.execute(
                    text(
                        f"SELECT feed_tx_id, feed_position FROM {BUILD_SCHEMA}.build "
                        "WHERE name = 'rebuild' AND state = 'building'"
                    )
                )
            ).first()
            if row is not None:
                return int(row.feed_tx_id), int(row.feed_position), True
            await conn.execute(text(f"DROP SCHEMA {BUILD_SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {BUILD_SCHEMA}"))
        build = await _translated(conn)
        for table in _TABLES:
            await build.execute(CreateTable(table))
        await conn.execute(
            text(
                f"INSERT INTO {BUILD_SCHEMA}.build "
                "(name, feed_tx_id, feed_position, events, state, updated_at) "
                "VALUES ('rebuild', 0, 0, 0, 'building', now())"
            )
        )
    return 0, 0, False


def _batch_sql(horizon: bool) -> Any:
    limit_to_horizon = "AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) " if horizon else ""
    return text(
        f"SELECT {COLUMNS} FROM events "
        "WHERE (tx_id, position) > (CAST(CAST(:tx AS text) AS xid8), :pos) "
        f"{limit_to_horizon}ORDER BY tx_id, position LIMIT :limit"
    )


async def _apply_batch(
    conn: AsyncConnection, after: tuple[int, int], limit: int, *, horizon: bool
) -> tuple[tuple[int, int], int, int]:
    """Apply the next events in feed order: (new cursor, events applied, last position)."""
    rows = (
        await conn.execute(
            _batch_sql(horizon), {"tx": str(after[0]), "pos": after[1], "limit": limit}
        )
    ).all()
    if not rows:
        return after, 0, 0
    recorded = [row_to_recorded(row) for row in rows]
    await apply_events(await _translated(conn), recorded)
    cursor = (recorded[-1].tx_id, recorded[-1].position)
    await conn.execute(
        text(
            f"UPDATE {BUILD_SCHEMA}.build SET feed_tx_id = :tx, feed_position = :pos, "
            "events = events + :n, updated_at = now() WHERE name = 'rebuild'"
        ),
        {"tx": cursor[0], "pos": cursor[1], "n": len(recorded)},
    )
    return cursor, len(recorded), max(r.position for r in recorded)


async def _create_indexes(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        build = await _translated(conn)
        for index in tables.DEFERRED_INDEXES:
            await build.execute(CreateIndex(index, if_not_exists=True))
        for table in _TABLES:
            await conn.execute(text(f"ANALYZE {BUILD_SCHEMA}.{table.name}"))


async def rebuild(
    engine: AsyncEngine, *, batch_size: int = 5000, progress: Progress_ | None = None
) -> RebuildResult:
    """Replay the log into fresh projections and swap them in; `progress(done, total)`."""
    started = time.perf_counter()
    async with engine.connect() as lock:
        await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK})
        await lock.commit()
        try:
            return await _rebuild_locked(engine, batch_size, progress, started)
        finally:
            await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK})
            await lock.commit()


async def _rebuild_locked(
    engine: AsyncEngine, batch_size: int, progress: Progress_ | None, started: float
) -> RebuildResult:
    tx, pos, resumed = await _prepare(engine)
    async with engine.connect() as conn:
        total = int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)
        done = int(await conn.scalar(text(f"SELECT events FROM {BUILD_SCHEMA}.build")) or 0)
    applied, last_position = 0, 0
    cursor = (tx, pos)
    while True:
        async with engine.begin() as conn:
            cursor, n, last = await _apply_batch(conn, cursor, batch_size, horizon=True)
        applied, done, last_position = applied + n, done + n, max(last_position, last)
        if progress is not None:
            progress(done, max(total, done))
        if n < batch_size:
            break
    await _create_indexes(engine)
    async with engine.begin() as conn:
        # Appends wait from here to the commit; reads of the projections go on.
        await conn.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
        while True:
            cursor, n, last = await _apply_batch(conn, cursor, batch_size, horizon=False)
            applied, done, last_position = applied + n, done + n, max(last_position, last)
            if n < batch_size:
                break
        await conn.execute(
            text(f"UPDATE {BUILD_SCHEMA}.build SET state = 'live', updated_at = now()")
        )
        await conn.execute(text(f"ALTER SCHEMA {tables.SCHEMA} RENAME TO {OLD_SCHEMA}"))
        await conn.execute(text(f"ALTER SCHEMA {BUILD_SCHEMA} RENAME TO {tables.SCHEMA}"))
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE"))
    if progress is not None:
        progress(done, done)
    return RebuildResult(
        events=applied,
        last_position=last_position,
        resumed=resumed,
        seconds=time.perf_counter() - started,
    )


class _RateColumn(ProgressColumn):
    """Events per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} events/s", style="progress.data.speed")


async def cli_rebuild(url: str, batch_size: int) -> int:
    """`timeline rebuild`: rebuild with a progress bar (events, events/s, ETA)."""
    from timeline.store.engine import create_engine

    engine = create_engine(url, pool_size=2, application="timeline-rebuild")
    columns = (
        TextColumn("rebuild"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task("rebuild", total=None)

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = await rebuild(engine, batch_size=max(1, batch_size), progress=report)
    finally:
        await engine.dispose()
    how = "resumed and rebuilt" if result.resumed else "rebuilt"
    print(
        f"timeline: {how} projections from {result.events} events "
        f"(to position {result.last_position}) in {result.seconds:.1f}s"
    )
    return 0
