"""Guarantee 5: the global feed, read while writers are busy, misses and repeats nothing.

Read with read_feed_rows, the one reader every production path uses (the HTTP
page, the hub, a stream catching up, `events tail`)."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any, NamedTuple

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.store.streams import committed_append, fresh_stream, opened, retitled
from timeline.domain.events import SourceRegistered
from timeline.store.append import StreamRef, append_to_stream
from timeline.store.cursor import encode_cursor
from timeline.store.errors import InvalidCursor
from timeline.store.feed import read_feed_rows, store_id

WRITERS = 8
TRANSACTIONS = 20
# Waiting for the horizon, not timing the feed: a transaction elsewhere on the
# server (another test session) can hold the horizon back for a while.
PATIENCE = 60.0


class FeedEntry(NamedTuple):
    cursor: str
    tx_id: int
    position: int
    stream_id: str


class Page(NamedTuple):
    entries: list[FeedEntry]
    next_cursor: str
    at_horizon: bool


async def read_feed(
    conn: AsyncConnection, store: str, after: str | None, limit: int = 100, **filters: Any
) -> Page:
    """A page of the feed, its rows read by name."""
    page = await read_feed_rows(conn, store, after, limit, **filters)
    entries = [
        FeedEntry(cursor, row["tx_id"], row["position"], row["stream_id"])
        for row, cursor in zip(page.rows, page.cursors, strict=True)
    ]
    return Page(entries, page.next_cursor, page.at_horizon)


async def read_to_horizon(
    conn: AsyncConnection, store: str, after: str | None, **filters: object
) -> tuple[list[FeedEntry], str | None]:
    """Every entry after `after` up to the horizon, and the cursor after them."""
    entries: list[FeedEntry] = []
    while True:
        page = await read_feed(conn, store, after, 50, **filters)
        await conn.commit()
        entries += page.entries
        after = page.next_cursor
        if page.at_horizon:
            return entries, after


async def read_until(
    conn: AsyncConnection, store: str, after: str | None, positions: set[int], **filters: object
) -> list[FeedEntry]:
    """Entries after `after` until every one of `positions` has been served."""
    entries: list[FeedEntry] = []
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not positions <= {e.position for e in entries}:
        assert asyncio.get_running_loop().time() < deadline, "the feed never served them"
        page, after = await read_to_horizon(conn, store, after, **filters)
        entries += page
        await asyncio.sleep(0.01)
    return entries


async def test_a_reader_polling_during_busy_writers_sees_every_commit_once_in_order(
    store_engine: AsyncEngine,
) -> None:
    rng = random.Random(20201010)
    committed: set[int] = set()
    rolled_back: set[int] = set()
    our_streams: set[str] = set()

    async def writer(w: int) -> None:
        streams = [fresh_stream() for _ in range(3)]
        our_streams.update(s.id for s in streams)
        versions = dict.fromkeys(streams, 0)
        for _ in range(TRANSACTIONS):
            stream = rng.choice(streams)
            async with store_engine.connect() as conn:
                expected = versions[stream]
                first = opened(stream) if expected == 0 else retitled(stream, "x")
                events = [first] + [retitled(stream, "y")] * rng.randrange(0, 3)
                result = await append_to_stream(conn, stream, expected, events)
                if rng.random() < 0.3:  # held open while others commit past it
                    await asyncio.sleep(rng.uniform(0.01, 0.08))
                if rng.random() < 0.25:
                    await conn.rollback()
                    rolled_back.update(result.positions)
                else:
                    await conn.commit()
                    committed.update(result.positions)
                    versions[stream] = result.version
            await asyncio.sleep(0)

    async with store_engine.connect() as reader:
        store = await store_id(reader)
        _, start = await read_to_horizon(reader, store, None)
        seen: list[FeedEntry] = []
        cursor = start
        writing = asyncio.gather(*(writer(w) for w in range(WRITERS)))
        while not writing.done():
            page = await read_feed(reader, store, cursor, rng.randrange(1, 20))
            await reader.commit()
            seen += page.entries
            cursor = page.next_cursor
            await asyncio.sleep(0.002)
        await writing
        seen += await read_until(reader, store, cursor, committed - {e.position for e in seen})
        final, _ = await read_to_horizon(reader, store, start)

    positions = [e.position for e in seen]
    assert len(positions) == len(set(positions)), "an event was served twice"
    assert positions == [e.position for e in final], "the live read differs from a full read"
    # Earlier tests' events may arrive late too (another session held the horizon back).
    ours = {e.position for e in seen if e.stream_id in our_streams}
    assert ours == committed, "the feed lost a commit or served a rollback"
    assert not rolled_back & set(positions)
    assert [e.cursor for e in seen] == [e.cursor for e in final]


async def test_the_feed_orders_by_transaction_and_resumes_from_any_cursor(
    store_engine: AsyncEngine,
) -> None:
    streams = [fresh_stream() for _ in range(3)]
    async with store_engine.connect() as conn:
        store = await store_id(conn)
        _, start = await read_to_horizon(conn, store, None)
        appended: set[int] = set()
        for stream in streams:
            result = await committed_append(store_engine, stream, 0, [opened(stream)] * 2)
            appended.update(result.positions)
        entries = await read_until(conn, store, start, appended)
        for i, entry in enumerate(entries):
            rest, _ = await read_to_horizon(conn, store, entry.cursor)
            assert [e.cursor for e in rest] == [e.cursor for e in entries[i + 1 :]]
        keys = [(e.tx_id, e.position) for e in entries]
        assert keys == sorted(keys)


async def test_a_transaction_that_began_writing_first_comes_first_whatever_its_positions(
    store_engine: AsyncEngine,
) -> None:
    early, late = fresh_stream(), fresh_stream()
    async with store_engine.connect() as reader:
        store = await store_id(reader)
        _, start = await read_to_horizon(reader, store, None)
        async with store_engine.connect() as first, store_engine.connect() as second:
            await first.execute(text("SELECT pg_current_xact_id()"))  # takes the older xid
            b = await append_to_stream(second, late, 0, [opened(late)])  # the smaller position
            a = await append_to_stream(first, early, 0, [opened(early)])
            await second.commit()
            await first.commit()
        assert b.positions[0] < a.positions[0]
        entries = await read_until(reader, store, start, {*a.positions, *b.positions})
    order = [e.position for e in entries if e.stream_id in (early.id, late.id)]
    assert order == [a.positions[0], b.positions[0]]


async def test_an_empty_page_keeps_the_cursor(store_engine: AsyncEngine) -> None:
    async with store_engine.connect() as conn:
        store = await store_id(conn)
        _, end = await read_to_horizon(conn, store, None)
        page = await read_feed(conn, store, end, 10, stream_id="no-such-stream")
        assert page.entries == []
        assert page.next_cursor == end
        assert page.at_horizon


@pytest.mark.parametrize(
    "cursor",
    ["not a cursor", "AAAA", "x" * 65, "!!!!", "QUJD", encode_cursor("0" * 32, 1, 1)[:-2]],
)
async def test_a_malformed_cursor_is_refused(store_engine: AsyncEngine, cursor: str) -> None:
    async with store_engine.connect() as conn:
        with pytest.raises(InvalidCursor):
            await read_feed(conn, await store_id(conn), cursor)


async def test_a_cursor_from_another_store_is_refused(store_engine: AsyncEngine) -> None:
    async with store_engine.connect() as conn:
        store = await store_id(conn)
        other = str(uuid.UUID(int=uuid.UUID(store).int ^ (1 << 127)))
        with pytest.raises(InvalidCursor, match="another store"):
            await read_feed(conn, store, encode_cursor(other, 1, 1))
        # The same position under this store's id is fine.
        await read_feed(conn, store, encode_cursor(store, 1, 1))


async def test_filters_select_by_type_stream_type_stream_id_and_timeline(
    store_engine: AsyncEngine,
) -> None:
    run = uuid.uuid4().hex[:8]
    timeline_a, timeline_b = f"a-{run}", f"b-{run}"
    one, two = fresh_stream(), fresh_stream()
    source = StreamRef("source", f"s-{run}")
    async with store_engine.connect() as conn:
        store = await store_id(conn)
        _, start = await read_to_horizon(conn, store, None)
    r1 = await committed_append(store_engine, one, 0, [opened(one)], timeline=timeline_a)
    r2 = await committed_append(
        store_engine, two, 0, [opened(two), retitled(two, "b")], timeline=timeline_b
    )
    async with store_engine.begin() as conn:
        r3 = await append_to_stream(
            conn, source, 0, [SourceRegistered(source_id=source.id, publisher="BBC", title="R")]
        )
    everything = {*r1.positions, *r2.positions, *r3.positions}

    async def positions(**filters: object) -> set[int]:
        async with store_engine.connect() as conn:
            entries, _ = await read_to_horizon(conn, store, start, **filters)
        return {e.position for e in entries} & everything

    async with store_engine.connect() as conn:
        await read_until(conn, store, start, everything)  # all three past the horizon
    assert await positions(types=["TimelineRetitled"]) == {r2.positions[1]}
    assert await positions(types=["TimelineOpened", "SourceRegistered"]) == {
        r1.positions[0],
        r2.positions[0],
        *r3.positions,
    }
    assert await positions(stream_type="source") == set(r3.positions)
    assert await positions(stream_type="timeline", stream_id=two.id) == set(r2.positions)
    assert await positions(timeline=timeline_a) == set(r1.positions)
    assert await positions(timeline=timeline_b, types=["TimelineOpened"]) == {r2.positions[0]}
