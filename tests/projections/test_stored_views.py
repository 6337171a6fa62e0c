"""Stored views: each projection row's `view` is its state's view, served byte for byte."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.projections.world import World, at, killed
from timeline.commands.writer import Writer
from timeline.domain.assertions import Assertion
from timeline.projections.present import view_json
from timeline.projections.temporal import Temporal
from timeline.projections.timelines import get_timeline, get_timeline_json

_state = msgspec.json.Decoder(Assertion)


async def _world(writer: Writer) -> tuple[World, list[str], Temporal]:
    world = await World(writer).open()
    ids = [
        await world.record(at(5), occurred=f"2020-10-{day:02d}", quantities=killed(day))
        for day in (3, 1, 2)
    ]
    await world.revise(ids[0], at(9), quantities=killed(30), reason="update")
    await world.revise(ids[0], at(7), quantities=killed(20), reason="backfill")
    await world.stance(ids[1], at(8), "denies")
    await world.retract(ids[2], at(10))
    async with writer.engine.connect() as conn:
        retracted = (
            await conn.execute(
                text("SELECT max(recorded_at) FROM events WHERE stream_id = :id"), {"id": ids[2]}
            )
        ).scalar_one()
    return world, ids, Temporal(recorded_at=retracted - timedelta(microseconds=1))


async def test_every_stored_view_is_the_view_of_its_rows_state(
    engine: AsyncEngine, writer: Writer
) -> None:
    world, ids, _ = await _world(writer)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT state::text AS state, recorded_at, last_position, view "
                    "FROM projections.revisions WHERE timeline = :slug UNION ALL "
                    "SELECT state::text, recorded_at, last_position, view "
                    "FROM projections.assertions WHERE timeline = :slug"
                ),
                {"slug": world.slug},
            )
        ).all()
    assert len(rows) > len(ids) * 2
    for row in rows:
        state = _state.decode(row.state)
        made = view_json(state, recorded_at=row.recorded_at, last_position=row.last_position)
        assert row.view == made


async def test_a_page_of_stored_views_encodes_as_the_page_of_decoded_views(
    engine: AsyncEngine, writer: Writer
) -> None:
    world, _, before_last = await _world(writer)
    probes = [Temporal(), Temporal(known_at=at(8)), before_last]
    async with engine.connect() as conn:
        for temporal in probes:
            cursor = None
            for _ in range(3):
                raw = await get_timeline_json(conn, world.slug, temporal, cursor=cursor, limit=2)
                page = await get_timeline(conn, world.slug, temporal, cursor=cursor, limit=2)
                assert raw is not None
                assert page is not None
                assert msgspec.json.encode(raw) == msgspec.json.encode(page)
                assert len(page.assertions) == (2 if cursor is None else 1)
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert cursor is None
