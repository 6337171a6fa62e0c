"""A write answers with its events as stored, and several streams go in or fail together."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import committed_append, fresh_stream, opened, retitled, titles
from timeline.domain.events import Event
from timeline.store.append import PENDING, Append, ProjectionRows, StreamRef, write
from timeline.store.codec import encode_data
from timeline.store.errors import StreamVersionConflict
from timeline.store.read import read_stream


def _append(stream: StreamRef, expected: int | None, *events: Event) -> Append:
    return Append(
        stream=stream,
        expected=expected,
        events=events,
        data=[encode_data(e) for e in events],
        metadata={"actor": "tests"},
        timeline=stream.id,
    )


async def test_an_append_returns_its_events_as_read_stream_gives_them(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()
    result = await committed_append(
        store_engine,
        stream,
        0,
        [opened(stream), retitled(stream, "b"), retitled(stream, "c")],
        metadata={"actor": "tests"},
        timeline=stream.id,
    )
    async with store_engine.connect() as conn:
        stored = await read_stream(conn, stream)
        tx_id = await conn.scalar(
            text("SELECT DISTINCT tx_id::text FROM events WHERE stream_id = :id"), {"id": stream.id}
        )
    assert list(result.events) == stored
    assert result.tx_id == int(tx_id or 0)
    assert result.positions == tuple(r.position for r in stored)
    assert result.recorded_at == stored[0].recorded_at
    assert [r.version for r in result.events] == [1, 2, 3]


async def test_a_write_to_several_streams_is_one_transaction_with_one_recorded_at(
    store_engine: AsyncEngine,
) -> None:
    a, b = fresh_stream(), fresh_stream()
    await committed_append(store_engine, b, 0, [opened(b)])
    async with store_engine.begin() as conn:
        now = await conn.scalar(text("SELECT clock_timestamp()"))
        result = await write(
            conn,
            [_append(a, 0, opened(a)), _append(b, 1, retitled(b, "told"), retitled(b, "twice"))],
            recorded_at=now,
        )
    async with store_engine.connect() as conn:
        stored = [*await read_stream(conn, a), *(await read_stream(conn, b))[1:]]
    assert sorted(result.events, key=lambda e: e.position) == sorted(
        stored, key=lambda e: e.position
    )
    assert {e.tx_id for e in result.events} == {result.tx_id}
    assert {e.recorded_at for e in result.events} == {now}
    assert [(e.stream_id, e.version) for e in result.events] == [(a.id, 1), (b.id, 2), (b.id, 3)]
    assert (result.stream, result.version, result.positions) == (a, 1, (result.events[0].position,))


async def test_a_stale_stream_in_a_write_refuses_all_of_it_and_is_named(
    store_engine: AsyncEngine,
) -> None:
    a, b = fresh_stream(), fresh_stream()
    await committed_append(store_engine, b, 0, [opened(b), retitled(b, "moved")])

    async def attempt() -> None:
        async with store_engine.begin() as conn:
            await write(conn, [_append(a, 0, opened(a)), _append(b, 1, retitled(b, "late"))])

    with pytest.raises(StreamVersionConflict) as raised:
        await attempt()
    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (b.id, 1, 2)
    async with store_engine.connect() as conn:
        assert await titles(conn, a) == []
        assert await titles(conn, b) == ["T", "moved"]


async def test_pending_positions_in_projection_rows_become_the_assigned_ones(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()
    row = {
        "slug": stream.id,
        "title": "T",
        "description": "",
        "region": "",
        "version": 2,
        "recorded_at": "2020-10-10T00:00:00Z",
        "last_position": PENDING + 2,
    }
    async with store_engine.begin() as conn:
        result = await write(
            conn,
            [_append(stream, 0, opened(stream), retitled(stream, "T"))],
            rows=ProjectionRows(timelines=msgspec.json.encode([row]).decode()),
        )
    async with store_engine.connect() as conn:
        last = await conn.scalar(
            text("SELECT last_position FROM projections.timelines WHERE slug = :slug"),
            {"slug": stream.id},
        )
    assert last == result.positions[1] < PENDING
