"""A rebuild's step 1, pipelined: batch k+1 is read and folded while batch k is written.

Events older than the horizon are read in stream order (stream type, id, version)
on a connection of their own (the rebuild's lock connection, idle otherwise), and
folded there (`projections.plan`). Each batch's rows are then written, with the
stream cursor and the count of events read, in a transaction of their own on
another connection (`projections.write`), while the next batch is read and
folded: the database's work on one batch and Python's on the next overlap.

Writes stay one at a time and in order, each committed before the next begins,
so a crash leaves the build as a batch-at-a-time load would: every batch up to
the cursor written, none after it. A batch reads live rows from the build tables
only for a stream neither opened in it nor held by the RowCache (a resumed run);
it waits for the write before it to commit first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.projections import BatchRows, plan, write
from timeline.projections.build_schema import BUILD_SCHEMA, LOADING, StreamKey, translated
from timeline.projections.bulk import collecting_after
from timeline.projections.revising import RowCache
from timeline.store.read import COLUMNS, row_to_recorded

_STREAM_BATCH = text(
    f"SELECT {COLUMNS} FROM events "
    "WHERE tx_id < CAST(CAST(:horizon AS text) AS xid8) "
    "AND (stream_type, stream_id, version) > (:stream_type, :stream_id, :version) "
    "ORDER BY stream_type, stream_id, version LIMIT :limit"
)

Added = Callable[[int, int], None]  # (events applied, last position)


async def _read(reader: AsyncConnection, horizon: int, after: StreamKey, limit: int) -> Any:
    params = {"stream_type": after[0], "stream_id": after[1], "version": after[2]}
    rows = (
        await reader.execute(_STREAM_BATCH, {"horizon": str(horizon), "limit": limit, **params})
    ).all()
    await reader.commit()
    return rows


async def count(conn: AsyncConnection, n: int) -> None:
    """Add `n` to the events the build has read (checked against the log at the swap)."""
    await conn.execute(
        text(
            f"UPDATE {BUILD_SCHEMA}.build SET events = events + :n, updated_at = now() "
            "WHERE name = 'rebuild'"
        ),
        {"n": n},
    )


async def _write(
    engine: AsyncEngine, rows: BatchRows | None, cursor: StreamKey, n: int, done: bool
) -> None:
    """One batch's rows and the stream cursor after it, committed; `done`: step 1 ends."""
    async with engine.begin() as conn:
        with collecting_after():
            if rows is not None:
                await write(await translated(conn), rows)
        await conn.execute(
            text(f"UPDATE {LOADING} SET stream_type = :t, stream_id = :i, version = :v"),
            {"t": cursor[0], "i": cursor[1], "v": cursor[2]},
        )
        await count(conn, n)
        if done:
            await conn.execute(text(f"DROP TABLE {LOADING}"))


async def load_streams(
    engine: AsyncEngine,
    reader: AsyncConnection,
    horizon: int,
    after: StreamKey,
    limit: int,
    cache: RowCache,
    added: Added,
) -> None:
    """Apply every event older than `horizon` after stream key `after`, `limit` at a
    time, reading and folding on `reader`; `added` is told of each batch committed."""
    into = await translated(reader)
    writing: asyncio.Task[None] | None = None
    ahead: asyncio.Task[Any] | None = None

    async def settled() -> None:
        if writing is not None:
            await writing

    try:
        rows = await _read(into, horizon, after, limit)
        in_flight = (0, 0)  # the batch being written: its events, its last position
        while True:
            with collecting_after():
                recorded = [row_to_recorded(row) for row in rows]
                planned = None
                if recorded:
                    planned = await plan(into, recorded, cache=cache, unseen=True, settled=settled)
                    await reader.commit()
            done = len(rows) < limit
            if recorded:
                last = recorded[-1]
                after = (last.stream_type, last.stream_id, last.version)
            if not done:
                ahead = asyncio.create_task(_read(into, horizon, after, limit))
            await settled()
            if writing is not None:
                added(*in_flight)
            writing = asyncio.create_task(_write(engine, planned, after, len(recorded), done))
            in_flight = (len(recorded), max((r.position for r in recorded), default=0))
            if done:
                await writing
                added(*in_flight)
                return
            assert ahead is not None
            rows, ahead = await ahead, None
    finally:
        # an error: let the write and the read in flight end before the caller goes on
        pending = [t for t in (writing, ahead) if t is not None and not t.done()]
        if pending:
            await asyncio.wait(pending)
