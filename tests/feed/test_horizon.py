"""The horizon: only this database's open transactions hold the feed back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline
from timeline.feed.shape import CURSOR, live_columns, page_columns
from timeline.store.db import asyncpg_dsn
from timeline.store.feed import read_feed_rows, store_id


async def open_transaction_with_an_xid(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    await conn.execute("BEGIN")
    await conn.fetchval("SELECT pg_current_xact_id()")  # now it holds a transaction id
    return conn


@pytest.fixture
async def elsewhere(postgres_server: str) -> AsyncIterator[asyncpg.Connection]:
    """An open transaction holding an xid in another database of the same server."""
    conn = await open_transaction_with_an_xid(postgres_server)
    yield conn
    await conn.close()


async def positions_after(engine: AsyncEngine, after: str) -> tuple[list[int], list[int]]:
    """What the feed serves after `after` as a page reads it, and as the hub and streams do."""
    async with engine.connect() as conn:
        store = await store_id(conn)
        page = await read_feed_rows(
            conn, store, after, 1000, columns=page_columns(store), cursor_column=CURSOR
        )
        live = await read_feed_rows(
            conn, store, after, 1000, columns=live_columns(store), cursor_column=CURSOR
        )
    return [r["position"] for r in page.rows], [r["position"] for r in live.rows]


async def end_of_feed(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        store = await store_id(conn)
        cursor = None
        while True:
            page = await read_feed_rows(conn, store, cursor, 1000)
            cursor = page.next_cursor
            if page.at_horizon:
                return cursor


async def test_a_transaction_open_in_another_database_does_not_hold_the_feed_back(
    engine: AsyncEngine, elsewhere: asyncpg.Connection
) -> None:
    start = await end_of_feed(engine)
    positions = await append_timeline(engine, f"h-{uuid.uuid4().hex[:8]}", count=2)
    # Other sessions on the shared server may hold this database's horizon for a moment.
    for _ in range(500):
        served = await positions_after(engine, start)
        if served == (positions, positions):
            break
        await asyncio.sleep(0.02)
    assert served == (positions, positions)


async def test_a_transaction_open_in_this_database_holds_later_commits_back_until_it_ends(
    engine: AsyncEngine, database_url: str
) -> None:
    start = await end_of_feed(engine)
    here = await open_transaction_with_an_xid(database_url)
    try:
        positions = await append_timeline(engine, f"h-{uuid.uuid4().hex[:8]}")
        assert await positions_after(engine, start) == ([], [])
    finally:
        await here.close()
    for _ in range(500):
        served = await positions_after(engine, start)
        if served == (positions, positions):
            break
        await asyncio.sleep(0.02)
    assert served == (positions, positions)
