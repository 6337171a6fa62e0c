"""Guarantee 3: an append with an idempotency key, repeated, returns the first result."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import committed_append, fresh_stream, opened, retitled, titles
from timeline.store.append import AppendResult, append_to_stream, find_idempotent, request_hash
from timeline.store.errors import IdempotencyKeyReused


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


async def count_events(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)


async def test_a_replay_returns_the_first_result_and_writes_nothing(
    store_engine: AsyncEngine,
) -> None:
    stream, k = fresh_stream(), key()
    first = await committed_append(store_engine, stream, 0, [opened(stream)], idempotency_key=k)
    before = await count_events(store_engine)
    again = await committed_append(store_engine, stream, 0, [opened(stream)], idempotency_key=k)
    assert again.replayed
    assert not first.replayed
    assert (again.stream, again.version, again.positions) == (
        first.stream,
        first.version,
        first.positions,
    )
    assert again.recorded_at == first.recorded_at
    assert await count_events(store_engine) == before


async def test_a_replay_wins_over_a_stale_expected_version(store_engine: AsyncEngine) -> None:
    stream, k = fresh_stream(), key()
    first = await committed_append(store_engine, stream, 0, [opened(stream)], idempotency_key=k)
    await committed_append(store_engine, stream, 1, [retitled(stream, "later")])
    again = await committed_append(store_engine, stream, 0, [opened(stream)], idempotency_key=k)
    assert again.replayed
    assert again.version == first.version == 1


async def test_the_same_key_with_other_content_is_refused(store_engine: AsyncEngine) -> None:
    stream, k = fresh_stream(), key()
    await committed_append(store_engine, stream, 0, [opened(stream)], idempotency_key=k)
    with pytest.raises(IdempotencyKeyReused):
        await committed_append(store_engine, stream, 1, [retitled(stream, "x")], idempotency_key=k)
    other = fresh_stream()
    with pytest.raises(IdempotencyKeyReused):
        await committed_append(store_engine, other, 0, [opened(other)], idempotency_key=k)
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["T"]
        assert await titles(conn, other) == []


async def test_concurrent_first_uses_of_one_key_make_one_append(store_engine: AsyncEngine) -> None:
    stream, k = fresh_stream(), key()
    barrier = asyncio.Barrier(8)

    async def attempt() -> AppendResult:
        async with store_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await barrier.wait()
            # No expected version: without the key, all eight would append.
            result = await append_to_stream(
                conn, stream, None, [retitled(stream, "once")], idempotency_key=k
            )
            await conn.commit()
            return result

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(r.replayed for r in results) == [False] + [True] * 7
    assert {(r.version, r.positions) for r in results} == {(1, results[0].positions)}
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["once"]


async def test_an_expired_key_is_taken_over_by_a_new_request(store_engine: AsyncEngine) -> None:
    stream, k = fresh_stream(), key()
    await committed_append(store_engine, stream, 0, [opened(stream)], idempotency_key=k)
    taken = await committed_append(
        store_engine, stream, 1, [retitled(stream, "new")], idempotency_key=k, idempotency_ttl=0
    )
    assert not taken.replayed
    assert taken.version == 2
    again = await committed_append(
        store_engine, stream, 1, [retitled(stream, "new")], idempotency_key=k
    )
    assert again.replayed
    assert again.positions == taken.positions


async def test_find_idempotent_returns_the_first_result_of_a_live_key(
    store_engine: AsyncEngine,
) -> None:
    stream, k = fresh_stream(), key()
    content = request_hash("open", stream.id)
    first = await committed_append(
        store_engine, stream, 0, [opened(stream)], idempotency_key=k, idempotency_hash=content
    )
    async with store_engine.connect() as conn:
        found = await find_idempotent(conn, k, content)
        assert found is not None
        assert (found.version, found.positions, found.replayed) == (1, first.positions, True)
        with pytest.raises(IdempotencyKeyReused):
            await find_idempotent(conn, k, request_hash("other"))
        assert await find_idempotent(conn, key(), content) is None
        assert await find_idempotent(conn, k, content, ttl=0) is None


def test_request_hash_is_stable_and_tells_content_apart() -> None:
    assert request_hash("a", {"x": 1, "y": 2}) == request_hash("a", {"y": 2, "x": 1})
    assert request_hash("a", 1) != request_hash("a", 2)


async def test_a_key_belongs_to_its_owner(store_engine: AsyncEngine) -> None:
    stream, k = fresh_stream(), key()
    a = await committed_append(
        store_engine,
        stream,
        None,
        [retitled(stream, "a")],
        idempotency_key=k,
        idempotency_owner="key:a",
    )
    # The same key and content from another owner: a write of its own, not a's replay.
    b = await committed_append(
        store_engine,
        stream,
        None,
        [retitled(stream, "a")],
        idempotency_key=k,
        idempotency_owner="key:b",
    )
    assert not a.replayed
    assert not b.replayed
    assert b.positions != a.positions
    # Other content under b's copy of the key is b's business: no refusal of a's.
    other = fresh_stream()
    with pytest.raises(IdempotencyKeyReused):
        await committed_append(
            store_engine, other, 0, [opened(other)], idempotency_key=k, idempotency_owner="key:b"
        )
    third = await committed_append(
        store_engine, other, 0, [opened(other)], idempotency_key=k, idempotency_owner="key:c"
    )
    assert not third.replayed
    for owner, first in (("key:a", a), ("key:b", b)):
        again = await committed_append(
            store_engine,
            stream,
            None,
            [retitled(stream, "a")],
            idempotency_key=k,
            idempotency_owner=owner,
        )
        assert again.replayed
        assert again.positions == first.positions
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["a", "a"]
        content = request_hash("timeline", stream.id, [])
        assert await find_idempotent(conn, k, content, owner="key:d") is None
        with pytest.raises(IdempotencyKeyReused):
            await find_idempotent(conn, k, content, owner="key:a")
