"""The decider runner: two statements per command, the events as stored, idempotency, reactions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.projections.world import World, at, new_id
from timeline.commands import handlers
from timeline.commands.errors import StaleVersion
from timeline.commands.writer import WriteContext, Writer, Written
from timeline.domain.commands import (
    OpenTimeline,
    RecordAssertion,
    ReviseAssertion,
    WithdrawSource,
)
from timeline.domain.errors import TimelineAlreadyExists
from timeline.domain.values import Citation
from timeline.projections.assertions import get_assertion
from timeline.projections.temporal import Temporal
from timeline.store.append import StreamRef, request_hash
from timeline.store.db import create_engine, driver_of
from timeline.store.errors import IdempotencyKeyReused
from timeline.store.read import read_stream


async def _stored(engine: AsyncEngine, written: Written) -> list[Any]:
    streams = dict.fromkeys(StreamRef(e.stream_type, e.stream_id) for e in written.events)
    async with engine.connect() as conn:
        stored = [r for s in streams for r in await read_stream(conn, s)]
    positions = {e.position for e in written.events}
    return sorted((r for r in stored if r.position in positions), key=lambda r: r.position)


async def test_a_command_returns_its_events_as_the_store_holds_them(
    writer: Writer, engine: AsyncEngine
) -> None:
    world = await World(writer).open()
    assertion_id = new_id("a")
    ctx = WriteContext(actor="editor", request_id="req-7")
    before = await _server_now(engine)
    written = await handlers.record_assertion(
        writer,
        RecordAssertion(
            assertion_id=assertion_id,
            timeline=world.slug,
            occurred="2020-10-08",
            kind="shelling",
            summary="Shusha shelled",
            citations=(Citation(source_id=world.source),),
            reported_at=at(8),
        ),
        ctx,
    )

    assert not written.replayed
    assert written.tx_id is not None
    assert len(written.events) == 1
    assert list(written.events) == await _stored(engine, written)
    (recorded,) = written.events
    assert (recorded.stream_id, recorded.version, recorded.timeline) == (
        assertion_id,
        1,
        world.slug,
    )
    assert recorded.metadata == {"actor": "editor", "request_id": "req-7"}
    assert written.positions == (recorded.position,)
    assert written.recorded_at == recorded.recorded_at
    assert before < recorded.recorded_at < await _server_now(engine)
    # The answer is the view the projection stored, with the position the log assigned.
    async with engine.connect() as conn:
        view = await get_assertion(conn, assertion_id, Temporal(recorded_at=written.recorded_at))
    assert view is not None
    assert written.view is not None
    assert view.last_position == recorded.position
    assert written.view == (await _view_json(engine, assertion_id)).encode()


async def _server_now(engine: AsyncEngine) -> datetime:
    async with engine.connect() as conn:
        now = await conn.scalar(text("SELECT clock_timestamp()"))
    assert isinstance(now, datetime)
    return now


async def _view_json(engine: AsyncEngine, assertion_id: str) -> str:
    async with engine.connect() as conn:
        view = await conn.scalar(
            text("SELECT view FROM projections.assertions WHERE assertion_id = :id"),
            {"id": assertion_id},
        )
    return str(view)


async def test_a_withdrawal_tells_every_citing_assertion_in_its_own_transaction(
    writer: Writer, engine: AsyncEngine
) -> None:
    world = await World(writer).open()
    other = await world.register(new_id("src"))
    alone = await world.record(at(5))
    backed = await world.record(
        at(5), citations=(Citation(source_id=world.source), Citation(source_id=other))
    )
    unrelated = await world.record(at(5), citations=(Citation(source_id=other),))
    await world.revise(backed, at(6), summary="Revised before the withdrawal")

    written = await handlers.withdraw_source(
        writer,
        WithdrawSource(source_id=world.source, reason="fabricated", withdrawn_at=at(7)),
        WriteContext(actor="editor", request_id="req-9"),
    )

    by_stream = {e.stream_id: e for e in written.events}
    assert set(by_stream) == {world.source, alone, backed}
    assert list(written.events) == await _stored(engine, written)
    assert {e.tx_id for e in written.events} == {written.tx_id}
    assert by_stream[world.source].type == "SourceWithdrawn"
    for assertion_id in (alone, backed):
        reaction = by_stream[assertion_id]
        assert reaction.type == "CitedSourceWithdrawn"
        assert reaction.metadata["causation_id"] == f"source:{world.source}"
        assert reaction.metadata["correlation_id"] == "req-9"
        assert reaction.timeline == world.slug
    assert by_stream[backed].version == 3
    async with engine.connect() as conn:
        status = {
            a: (await get_assertion(conn, a)).status  # type: ignore[union-attr]
            for a in (alone, backed, unrelated)
        }
    assert status == {alone: "unsupported", backed: "active", unrelated: "active"}
    assert written.view is not None
    assert b'"status":"withdrawn"' in written.view


@contextlib.asynccontextmanager
async def _one_connection(database_url: str) -> AsyncIterator[tuple[Writer, list[str]]]:
    """A writer on a pool of one connection, and every statement sent on it.

    Statements sent straight to the driver (and BEGIN/COMMIT) are seen by
    asyncpg's query logger; those SQLAlchemy sends, by its cursor event.
    """
    engine = create_engine(database_url, pool_size=1)
    sent: list[str] = []

    def sqlalchemy_sent(*args: Any) -> None:
        sent.append(args[2])

    try:
        async with engine.connect() as conn:
            driver = await driver_of(conn)
            driver.add_query_logger(lambda record: sent.append(record.query))
            await conn.rollback()
        event.listen(engine.sync_engine, "before_cursor_execute", sqlalchemy_sent)
        yield Writer(engine), sent
    finally:
        await engine.dispose()


async def test_a_command_takes_two_statements_and_no_begin_or_commit(database_url: str) -> None:
    async with _one_connection(database_url) as (writer, sent):
        world = await World(writer).open()
        assertion_id = await world.record(at(5))
        await world.revise(assertion_id, at(6), summary="warm")
        await asyncio.sleep(0.05)  # the logger's calls are scheduled on the loop
        counts: dict[str, int] = {}
        for name, command in {
            "record": lambda: world.record(at(5)),
            "revise": lambda: world.revise(assertion_id, at(7), summary="again"),
            "stance": lambda: world.stance(assertion_id, at(8), "denies"),
            "withdraw": lambda: world.withdraw(world.source, at(9)),
        }.items():
            sent.clear()
            await command()
            await asyncio.sleep(0.05)
            counts[name] = len(sent)
            assert not any(s.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK") for s in sent)
            assert "clock_timestamp()" in sent[0]
            assert "timeline_write" in sent[1]
    assert counts == {"record": 2, "revise": 2, "stance": 2, "withdraw": 2}


async def test_concurrent_first_uses_of_a_key_write_once_and_answer_alike(
    engine: AsyncEngine,
) -> None:
    writer = Writer(engine)
    world = await World(writer).open()
    ctx = WriteContext(idempotency_key=new_id("key"), request_hash=request_hash("same request"))

    async def attempt(i: int) -> Written:
        # Like the API: each request makes its own assertion id; the key decides.
        cmd = RecordAssertion(
            assertion_id=f"{world.slug}-{i}",
            timeline=world.slug,
            occurred="2020-10-08",
            kind="shelling",
            summary="once",
            citations=(Citation(source_id=world.source),),
            reported_at=at(8),
        )
        return await handlers.record_assertion(writer, cmd, ctx)

    results = await asyncio.gather(*(attempt(i) for i in range(10)))

    assert sorted(r.replayed for r in results) == [False] + [True] * 9
    first = next(r for r in results if not r.replayed)
    assert {(r.stream, r.version, r.positions, r.recorded_at) for r in results} == {
        (first.stream, 1, first.positions, first.recorded_at)
    }
    async with engine.connect() as conn:
        written = await conn.scalar(
            text("SELECT count(*) FROM events WHERE timeline = :slug AND type = :type"),
            {"slug": world.slug, "type": "AssertionRecorded"},
        )
    assert written == 1


async def test_a_replay_whose_decision_now_refuses_still_answers_the_first_result(
    writer: Writer,
) -> None:
    slug = new_id("tl")
    cmd = OpenTimeline(slug=slug, title="Once")
    ctx = WriteContext(idempotency_key=new_id("key"), request_hash=request_hash("open", slug))
    first = await handlers.open_timeline(writer, cmd, ctx)
    again = await handlers.open_timeline(writer, cmd, ctx)
    assert again.replayed
    assert (again.stream, again.version, again.positions) == (
        first.stream,
        first.version,
        first.positions,
    )
    assert again.view is None  # a replay writes nothing: the API reads it at recorded_at
    with pytest.raises(IdempotencyKeyReused):
        await handlers.open_timeline(
            writer, cmd, WriteContext(idempotency_key=ctx.idempotency_key, request_hash=b"x")
        )
    with pytest.raises(TimelineAlreadyExists):
        await handlers.open_timeline(writer, cmd)


async def test_if_match_is_checked_before_the_decision(writer: Writer) -> None:
    world = await World(writer).open()
    assertion_id = await world.record(at(5))
    await world.retract(assertion_id, at(6))
    # Stale: 412 comes before "retracted" (422); the client must read it again first.
    with pytest.raises(StaleVersion) as raised:
        await handlers.change_assertion(
            writer,
            ReviseAssertion(assertion_id=assertion_id, summary="x", reported_at=at(7)),
            expected_version=1,
        )
    assert (raised.value.expected, raised.value.actual) == (1, 2)
