"""Rebuild: the whole log replayed into fresh tables equals the incremental projections."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.migrations.catalog import schema_of
from tests.projections.snapshot import snapshot
from tests.projections.world import World, at, killed
from timeline.commands.writer import Writer
from timeline.projections import build_schema
from timeline.projections import rebuild as rebuild_module
from timeline.projections.assertions import get_assertion
from timeline.projections.loading import load_streams
from timeline.projections.rebuild import BUILD_SCHEMA, RebuildIncomplete, rebuild
from timeline.projections.revising import RowCache
from timeline.projections.temporal import Temporal
from timeline.store.db import asyncpg_dsn, create_engine


async def _busy_world(writer: Writer) -> World:
    world = await World(writer).open()
    other = await world.register(f"{world.source}-2")
    a = await world.record(at(5), quantities=killed(200))
    await world.revise(a, at(12), quantities=killed(300))
    await world.revise(a, at(9), quantities=killed(250))
    b = await world.record(at(6), summary="Shelling of Stepanakert")
    await world.stance(b, at(7), "denies")
    await world.stance(b, at(6, hour=13), "confirms", party="Azerbaijan")
    await world.retract(b, at(20))
    c = await world.record(at(8), summary="Ceasefire agreed")
    await world.revise(c, at(8), summary="Ceasefire agreed in Moscow", reason="same day")
    await world.withdraw(world.source, at(15))
    d = await world.record(at(16), summary="Talks in Moscow", citations=())
    _ = (d, other)
    return world


async def test_a_rebuild_equals_the_incremental_projections(
    rebuild_engine: AsyncEngine, rebuild_writer: Writer
) -> None:
    await _busy_world(rebuild_writer)
    before = await snapshot(rebuild_engine)

    result = await rebuild(rebuild_engine, batch_size=3)

    assert result.events > 0
    assert await snapshot(rebuild_engine) == before


class _Died(Exception):
    """A rebuild's process dying between two batches."""


async def test_a_rebuild_resumes_after_a_crash_from_its_last_batch(
    rebuild_engine: AsyncEngine, rebuild_writer: Writer
) -> None:
    await _busy_world(rebuild_writer)
    before = await snapshot(rebuild_engine)
    # a run that died after two batches: the build schema holds them and its cursor
    build = await build_schema.prepare(rebuild_engine)
    assert build.stream is not None
    committed: list[int] = []

    def added(n: int, _last: int) -> None:
        committed.append(n)
        if len(committed) == 2:
            raise _Died

    async with rebuild_engine.connect() as reader:
        with pytest.raises(_Died):
            await load_streams(
                rebuild_engine, reader, build.feed[0], build.stream, 4, RowCache(), added
            )
    assert committed == [4, 4]

    result = await rebuild(rebuild_engine, batch_size=4)

    assert result.resumed
    assert await snapshot(rebuild_engine) == before
    async with rebuild_engine.connect() as conn:
        leftover = await conn.scalar(
            text("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'projections_%'")
        )
    assert leftover == 0
    _ = BUILD_SCHEMA


async def test_a_rebuild_while_writers_append_loses_nothing(
    rebuild_engine: AsyncEngine, rebuild_writer: Writer
) -> None:
    world = await World(rebuild_writer).open()
    ids = [await world.record(at(1 + i)) for i in range(4)]

    async def write(assertion_id: str) -> None:
        for n in range(6):
            await world.revise(assertion_id, at(10, hour=n), quantities=killed(n))

    writers = asyncio.gather(*(write(a) for a in ids))
    await rebuild(rebuild_engine, batch_size=5)
    await writers
    after_concurrent = await snapshot(rebuild_engine)

    await rebuild(rebuild_engine, batch_size=500)

    assert await snapshot(rebuild_engine) == after_concurrent
    async with rebuild_engine.connect() as conn:
        versions = await conn.scalar(
            text(
                "SELECT sum((state->>'version')::int) FROM projections.assertions "
                "WHERE assertion_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
    assert versions == 4 * 7


async def test_a_rebuild_takes_every_committed_event_while_another_database_holds_the_horizon(
    rebuild_engine: AsyncEngine, rebuild_writer: Writer, postgres_server: str
) -> None:
    world = await World(rebuild_writer).open()
    a = await world.record(at(5), quantities=killed(200))
    # A transaction with an xid in another database of the cluster holds
    # pg_snapshot_xmin back for every database: what is written after it is
    # committed, but never below the horizon until it ends.
    holder = await asyncpg.connect(asyncpg_dsn(postgres_server))
    try:
        await holder.execute("BEGIN")
        await holder.fetchval("SELECT pg_current_xact_id()")
        await world.revise(a, at(9), quantities=killed(250))
        b = await world.record(at(6), summary="Shelling of Stepanakert")
        await world.stance(b, at(7), "denies")
        before = await snapshot(rebuild_engine)

        result = await rebuild(rebuild_engine, batch_size=2)

        assert await snapshot(rebuild_engine) == before
    finally:
        await holder.close()
    async with rebuild_engine.connect() as conn:
        in_log = await conn.scalar(text("SELECT count(*) FROM events"))
        built = await conn.scalar(text("SELECT events FROM projections.build"))
    assert built == in_log
    assert result.events == in_log


async def test_pooled_connections_read_the_new_tables_after_a_swap(
    rebuild_url: str, rebuild_writer: Writer
) -> None:
    # One connection each: every statement below runs prepared and cached on it.
    reader = create_engine(rebuild_url, pool_size=1)
    builder = create_engine(rebuild_url, pool_size=1)
    try:
        world = await World(rebuild_writer).open()
        a = await world.record(at(5), quantities=killed(200))
        async with reader.connect() as conn:
            view = await get_assertion(conn, a, Temporal())
            assert view is not None
            assert view.version == 1
        await rebuild(builder, batch_size=2)
        await world.revise(a, at(9), quantities=killed(250))
        # a second rebuild meets its own cached statements for the build schema,
        # which now names fresh tables
        await rebuild(builder, batch_size=2)
        await world.revise(a, at(12), quantities=killed(300))

        async with reader.connect() as conn:
            view = await get_assertion(conn, a, Temporal())
            known = await get_assertion(conn, a, Temporal(known_at=at(10)))
        assert view is not None
        assert view.version == 3
        assert known is not None
        assert known.quantities[0].low == 250
        before = await snapshot(reader)
        await rebuild(builder, batch_size=500)
        assert await snapshot(reader) == before
    finally:
        await reader.dispose()
        await builder.dispose()


async def test_a_rebuild_that_misses_an_event_swaps_nothing_in(
    rebuild_engine: AsyncEngine, rebuild_writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await World(rebuild_writer).open()
    await world.record(at(5))
    before = await snapshot(rebuild_engine)
    real = rebuild_module._apply_batch

    async def loses_an_event(conn: Any, after: Any, limit: int, **kw: Any) -> Any:
        cursor, n, last = await real(conn, after, limit, **kw)
        if kw.get("horizon") is False:
            # under the swap lock: as if one event had been skipped
            await conn.execute(text(f"UPDATE {BUILD_SCHEMA}.build SET events = events - 1"))
        return cursor, n, last

    monkeypatch.setattr(rebuild_module, "_apply_batch", loses_an_event)
    with pytest.raises(RebuildIncomplete):
        await rebuild(rebuild_engine, batch_size=50)
    monkeypatch.undo()

    assert await snapshot(rebuild_engine) == before
    await rebuild(rebuild_engine, batch_size=50)
    assert await snapshot(rebuild_engine) == before


async def test_a_rebuilt_schema_is_the_migrated_one(
    rebuild_engine: AsyncEngine, rebuild_writer: Writer
) -> None:
    """Columns, constraints, indexes and statistics targets: the swap changes no plan."""
    await _busy_world(rebuild_writer)
    url = rebuild_engine.url.render_as_string(hide_password=False)
    migrated = await asyncio.to_thread(schema_of, url)
    assert ("projections", "revisions", "state", 0) in migrated["statistics"]
    await rebuild(rebuild_engine)
    assert await asyncio.to_thread(schema_of, url) == migrated
