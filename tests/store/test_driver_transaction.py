"""The append runs on the asyncpg connection itself, but always in the caller's transaction.

SQLAlchemy begins lazily, so an append that is the first statement of a
transaction is the case that would silently autocommit if the store got it wrong.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import fresh_stream, opened, retitled, titles
from timeline.domain.events import TimelineOpened
from timeline.store.append import append_to_stream
from timeline.store.errors import StreamVersionConflict


class AfterTheAppend(Exception):
    pass


async def test_an_append_as_the_first_statement_is_rolled_back_with_its_transaction(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()

    async def append_then_fail() -> None:
        async with store_engine.begin() as conn:
            await append_to_stream(conn, stream, 0, [opened(stream)], idempotency_key=stream.id)
            await append_to_stream(conn, stream, 1, [retitled(stream, "again")])
            raise AfterTheAppend

    with pytest.raises(AfterTheAppend):
        await append_then_fail()
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == []
        assert (
            await conn.scalar(
                text("SELECT count(*) FROM idempotency_keys WHERE key = :key"), {"key": stream.id}
            )
            == 0
        )


async def test_an_append_on_a_plain_connection_commits_only_when_the_caller_commits(
    store_engine: AsyncEngine,
) -> None:
    dropped, kept = fresh_stream(), fresh_stream()
    async with store_engine.connect() as conn:
        await append_to_stream(conn, dropped, 0, [opened(dropped)])
        assert conn.in_transaction()
    async with store_engine.connect() as conn:
        await append_to_stream(conn, kept, 0, [opened(kept)])
        await conn.commit()
    async with store_engine.connect() as conn:
        assert await titles(conn, dropped) == []
        assert await titles(conn, kept) == ["T"]


async def test_a_conflict_leaves_the_transaction_to_the_caller(store_engine: AsyncEngine) -> None:
    stream = fresh_stream()
    async with store_engine.begin() as conn:
        await append_to_stream(conn, stream, 0, [opened(stream)])

    async def append_stale() -> None:
        async with store_engine.begin() as conn:
            await append_to_stream(conn, stream, 0, [opened(stream, "lost")])

    with pytest.raises(StreamVersionConflict):
        await append_stale()
    # The pooled connection came back clean: the next transaction works.
    async with store_engine.begin() as conn:
        await append_to_stream(conn, stream, 1, [retitled(stream, "next")])
        assert await titles(conn, stream) == ["T", "next"]


async def test_a_value_postgresql_refuses_is_a_sqlalchemy_error_with_its_sqlstate(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()

    async def append_nul() -> None:
        async with store_engine.begin() as conn:
            await append_to_stream(conn, stream, 0, [TimelineOpened(slug=stream.id, title="a\0b")])

    with pytest.raises(DBAPIError) as caught:
        await append_nul()
    assert getattr(caught.value.orig, "sqlstate", "").startswith("22")
