"""Guarantee 2: optimistic concurrency. One winner per version; losers write nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import committed_append, fresh_stream, opened, retitled, titles
from timeline.store.append import AppendResult, StreamRef, append_to_stream
from timeline.store.errors import StreamVersionConflict

RACERS = 8
ROUNDS = 4


async def race(
    engine: AsyncEngine, stream: StreamRef, expected: int, round_: int
) -> list[AppendResult | StreamVersionConflict]:
    """RACERS writers append to `stream` at once, all expecting `expected`."""
    barrier = asyncio.Barrier(RACERS)

    async def racer(i: int) -> AppendResult | StreamVersionConflict:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # connected and in a transaction before the race
            await barrier.wait()
            try:
                event = (
                    opened(stream, f"r{round_}-{i}")
                    if expected == 0
                    else retitled(stream, f"r{round_}-{i}")
                )
                result = await append_to_stream(
                    conn, stream, expected, [event], idempotency_key=f"{stream.id}-{round_}-{i}"
                )
            except StreamVersionConflict as conflict:
                await conn.rollback()
                return conflict
            await conn.commit()
            return result

    return await asyncio.gather(*(racer(i) for i in range(RACERS)))


async def test_racing_appenders_get_exactly_one_winner_per_version(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()
    winners: list[str] = []
    for round_ in range(ROUNDS):
        outcomes = await race(store_engine, stream, round_, round_)
        won = [i for i, o in enumerate(outcomes) if isinstance(o, AppendResult)]
        assert len(won) == 1, outcomes
        lost = [o for o in outcomes if isinstance(o, StreamVersionConflict)]
        assert len(lost) == RACERS - 1
        result = outcomes[won[0]]
        assert isinstance(result, AppendResult)
        assert result.version == round_ + 1
        winners.append(f"r{round_}-{won[0]}")
    async with store_engine.connect() as conn:
        # No duplicate version, no lost update: the stream holds the winners only, in order.
        assert await titles(conn, stream) == winners
        # Losers wrote nothing, not even their idempotency record.
        keys = await conn.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE key LIKE :prefix"),
            {"prefix": f"{stream.id}-%"},
        )
        assert keys == ROUNDS


async def test_a_stale_expected_version_conflicts_and_names_the_actual_one(
    store_engine: AsyncEngine,
) -> None:
    stream = fresh_stream()
    await committed_append(store_engine, stream, 0, [opened(stream), retitled(stream, "b")])
    for stale in (0, 1):
        with pytest.raises(StreamVersionConflict) as error:
            await committed_append(store_engine, stream, stale, [retitled(stream, "late")])
        assert (error.value.expected, error.value.actual) == (stale, 2)
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["T", "b"]


async def test_an_expected_version_ahead_of_the_stream_conflicts(store_engine: AsyncEngine) -> None:
    stream = fresh_stream()
    with pytest.raises(StreamVersionConflict) as error:
        await committed_append(store_engine, stream, 3, [opened(stream)])
    assert error.value.actual == 0
    await committed_append(store_engine, stream, 0, [opened(stream)])
    with pytest.raises(StreamVersionConflict):
        await committed_append(store_engine, stream, 2, [retitled(stream, "x")])
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["T"]


async def test_no_expected_version_appends_at_the_end(store_engine: AsyncEngine) -> None:
    stream = fresh_stream()
    await committed_append(store_engine, stream, 0, [opened(stream)])
    result = await committed_append(store_engine, stream, None, [retitled(stream, "b")] * 2)
    assert result.version == 3
    assert len(result.positions) == 2
    assert result.positions[0] < result.positions[1]


async def test_an_append_of_no_events_is_refused(store_engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="at least one event"):
        await committed_append(store_engine, fresh_stream(), 0, [])
