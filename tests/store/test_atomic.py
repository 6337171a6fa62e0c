"""Guarantee 4: an append commits with the rest of its transaction or not at all."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import fresh_stream, opened, titles
from timeline.store.append import append_to_stream


class AfterTheAppend(Exception):
    pass


async def test_an_error_after_the_append_leaves_no_event_and_no_key(
    store_engine: AsyncEngine,
) -> None:
    stream, key = fresh_stream(), f"key-{uuid.uuid4().hex}"

    async def append_then_fail() -> None:
        async with store_engine.begin() as conn:
            result = await append_to_stream(conn, stream, 0, [opened(stream)], idempotency_key=key)
            assert result.version == 1
            # The append is visible inside its own transaction (a client reads its own write).
            assert await titles(conn, stream) == ["T"]
            raise AfterTheAppend

    with pytest.raises(AfterTheAppend):
        await append_then_fail()
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == []
        keys = await conn.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE key = :key"), {"key": key}
        )
        assert keys == 0


async def test_after_a_rollback_the_same_key_and_version_are_free(
    store_engine: AsyncEngine,
) -> None:
    stream, key = fresh_stream(), f"key-{uuid.uuid4().hex}"

    async def append_then_fail() -> None:
        async with store_engine.begin() as conn:
            await append_to_stream(conn, stream, 0, [opened(stream, "a")], idempotency_key=key)
            raise AfterTheAppend

    with pytest.raises(AfterTheAppend):
        await append_then_fail()
    async with store_engine.begin() as conn:
        result = await append_to_stream(conn, stream, 0, [opened(stream, "b")], idempotency_key=key)
    assert (result.version, result.replayed) == (1, False)
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["b"]


async def test_a_failed_statement_after_the_append_rolls_the_append_back(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()

    async def append_then_fail() -> None:
        async with store_engine.begin() as conn:
            await append_to_stream(conn, stream, 0, [opened(stream)])
            await conn.execute(text("SELECT 1 / 0"))

    with pytest.raises(DBAPIError, match="division by zero"):
        await append_then_fail()
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == []
