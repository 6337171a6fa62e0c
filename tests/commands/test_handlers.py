"""The write path: the checks a command makes before and around its append."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.projections.world import World, at
from timeline.commands import handlers
from timeline.commands.errors import StaleVersion
from timeline.commands.writer import WriteContext, Writer
from timeline.domain.commands import ReviseAssertion, WithdrawSource
from timeline.domain.errors import AssertionNotFound
from timeline.store.append import request_hash
from timeline.store.errors import IdempotencyKeyReused


async def _count(engine: AsyncEngine, stream_id: str) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(
            text("SELECT count(*) FROM events WHERE stream_id = :id"), {"id": stream_id}
        )
    return int(value or 0)


async def test_a_stale_expected_version_is_refused_and_writes_nothing(
    writer: Writer, engine: AsyncEngine
) -> None:
    world = await World(writer).open()
    assertion_id = await world.record(at(5))
    revise = ReviseAssertion(assertion_id=assertion_id, summary="Changed", reported_at=at(6))
    await handlers.change_assertion(writer, revise, expected_version=1)

    with pytest.raises(StaleVersion) as raised:
        await handlers.change_assertion(writer, revise, expected_version=1)

    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert await _count(engine, assertion_id) == 2


async def test_a_repeated_idempotency_key_replays_the_first_result_without_writing(
    writer: Writer, engine: AsyncEngine
) -> None:
    world = await World(writer).open()
    assertion_id = await world.record(at(5))
    revise = ReviseAssertion(assertion_id=assertion_id, summary="Once", reported_at=at(6))
    ctx = WriteContext(idempotency_key=f"k-{assertion_id}", request_hash=request_hash("once"))

    first = await handlers.change_assertion(writer, revise, ctx)
    again = await handlers.change_assertion(writer, revise, ctx)

    assert not first.replayed
    assert again.replayed
    assert (again.version, again.positions) == (first.version, first.positions)
    assert await _count(engine, assertion_id) == 2


async def test_a_reused_key_with_other_content_is_refused(writer: Writer) -> None:
    world = await World(writer).open()
    assertion_id = await world.record(at(5))
    key = f"k2-{assertion_id}"
    revise = ReviseAssertion(assertion_id=assertion_id, summary="One", reported_at=at(6))
    await handlers.change_assertion(
        writer, revise, WriteContext(idempotency_key=key, request_hash=request_hash("one"))
    )

    with pytest.raises(IdempotencyKeyReused):
        await handlers.change_assertion(
            writer, revise, WriteContext(idempotency_key=key, request_hash=request_hash("two"))
        )


async def test_a_withdrawal_reaches_citing_assertions_with_its_causation(
    writer: Writer, engine: AsyncEngine
) -> None:
    world = await World(writer).open()
    assertion_id = await world.record(at(5))
    ctx = WriteContext(actor="editor", request_id="req-1")

    await handlers.withdraw_source(
        writer, WithdrawSource(source_id=world.source, reason="fake", withdrawn_at=at(7)), ctx
    )

    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT type, metadata, reported_at FROM events "
                    "WHERE stream_id = :id ORDER BY version DESC LIMIT 1"
                ),
                {"id": assertion_id},
            )
        ).one()
    assert row.type == "CitedSourceWithdrawn"
    assert row.metadata["causation_id"] == f"source:{world.source}"
    assert row.metadata["correlation_id"] == "req-1"
    assert row.reported_at == at(7)


async def test_a_command_on_a_missing_assertion_names_it(writer: Writer) -> None:
    with pytest.raises(AssertionNotFound) as raised:
        await handlers.change_assertion(
            writer, ReviseAssertion(assertion_id="nope", summary="x", reported_at=at(6))
        )
    assert raised.value.field == "assertion_id"
