"""One function per command: load, decide, append and apply, in one transaction.

Each returns the AppendResult; `replayed` is set when an idempotency key was
seen before, and then nothing was decided or written.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.commands.errors import StaleVersion
from timeline.commands.load import (
    assertion_stream,
    load_assertion,
    load_many,
    load_source,
    load_timeline,
    source_stream,
    timeline_stream,
)
from timeline.commands.writer import NO_CONTEXT, WriteContext, Writer
from timeline.domain import assertions, sources, timelines
from timeline.domain.commands import (
    OpenTimeline,
    RecordAssertion,
    RecordStance,
    RegisterSource,
    RetitleTimeline,
    RetractAssertion,
    ReviseAssertion,
    UpdateSource,
    WithdrawSource,
)
from timeline.domain.values import Citation
from timeline.projections import assertions_citing
from timeline.store.append import AppendResult


def _check_expected(expected: int | None, actual: int) -> None:
    if expected is not None and expected != actual:
        raise StaleVersion(expected, actual)


async def open_timeline(
    writer: Writer, cmd: OpenTimeline, ctx: WriteContext = NO_CONTEXT
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state = await load_timeline(conn, cmd.slug)
        events = timelines.open_timeline(state, cmd)
        return await writer.append(
            conn, timeline_stream(cmd.slug), 0, events, ctx, timeline=cmd.slug
        )


async def retitle_timeline(
    writer: Writer,
    cmd: RetitleTimeline,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state = await load_timeline(conn, cmd.slug)
        events = timelines.retitle_timeline(state, cmd)
        assert state is not None
        _check_expected(expected_version, state.version)
        return await writer.append(
            conn, timeline_stream(cmd.slug), state.version, events, ctx, timeline=cmd.slug
        )


async def register_source(
    writer: Writer, cmd: RegisterSource, ctx: WriteContext = NO_CONTEXT
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state = await load_source(conn, cmd.source_id)
        via = await load_source(conn, cmd.via) if cmd.via else None
        events = sources.register_source(state, cmd, via)
        return await writer.append(conn, source_stream(cmd.source_id), 0, events, ctx)


async def update_source(
    writer: Writer,
    cmd: UpdateSource,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state = await load_source(conn, cmd.source_id)
        via = await load_source(conn, cmd.via) if isinstance(cmd.via, str) else None
        events = sources.update_source(state, cmd, via)
        assert state is not None
        _check_expected(expected_version, state.version)
        return await writer.append(conn, source_stream(cmd.source_id), state.version, events, ctx)


async def withdraw_source(
    writer: Writer,
    cmd: WithdrawSource,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> AppendResult:
    """Withdraw a source and, in the same transaction, tell every assertion citing it."""
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state = await load_source(conn, cmd.source_id)
        events = sources.withdraw_source(state, cmd)
        assert state is not None
        _check_expected(expected_version, state.version)
        result = await writer.append(conn, source_stream(cmd.source_id), state.version, events, ctx)
        await _tell_citing_assertions(conn, writer, cmd, ctx)
        return result


async def _tell_citing_assertions(
    conn: AsyncConnection, writer: Writer, cmd: WithdrawSource, ctx: WriteContext
) -> None:
    reaction = WriteContext(
        actor=ctx.actor,
        request_id=ctx.request_id,
        correlation_id=ctx.correlation_id or ctx.request_id,
        causation_id=f"source:{cmd.source_id}",
    )
    for assertion_id in await assertions_citing(conn, cmd.source_id):
        state = await load_assertion(conn, assertion_id)
        if state is None:
            continue
        events = assertions.react_to_withdrawal(state, cmd.source_id, cmd.reason, cmd.withdrawn_at)
        if events:
            await writer.append(
                conn,
                assertion_stream(assertion_id),
                state.version,
                events,
                reaction,
                timeline=state.timeline,
                use_key=False,
            )


def _cited(*groups: tuple[Citation, ...]) -> list[str]:
    return [c.source_id for group in groups for c in group]


async def _assertion_and_cited(
    conn: AsyncConnection, assertion_id: str, citations: tuple[Citation, ...]
) -> tuple[assertions.Assertion | None, dict[str, sources.Source | None]]:
    """The assertion and the sources cited, read in one round trip."""
    loaded = await load_many(conn, source_ids=_cited(citations), assertion_ids=[assertion_id])
    return loaded.assertions[assertion_id], loaded.sources


async def record_assertion(
    writer: Writer, cmd: RecordAssertion, ctx: WriteContext = NO_CONTEXT
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        loaded = await load_many(
            conn,
            timeline_slugs=[cmd.timeline],
            source_ids=_cited(cmd.citations),
            assertion_ids=[cmd.assertion_id],
        )
        timeline, cited = loaded.timelines[cmd.timeline], loaded.sources
        state = loaded.assertions[cmd.assertion_id]
        events = assertions.record_assertion(state, cmd, timeline, cited)
        return await writer.append(
            conn, assertion_stream(cmd.assertion_id), 0, events, ctx, timeline=cmd.timeline
        )


async def revise_assertion(
    writer: Writer,
    cmd: ReviseAssertion,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state, cited = await _assertion_and_cited(conn, cmd.assertion_id, cmd.citations)
        if state is not None:
            _check_expected(expected_version, state.version)
        events = assertions.revise_assertion(state, cmd, cited)
        assert state is not None
        return await writer.append(
            conn,
            assertion_stream(cmd.assertion_id),
            state.version,
            events,
            ctx,
            timeline=state.timeline,
        )


async def record_stance(
    writer: Writer,
    cmd: RecordStance,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state, cited = await _assertion_and_cited(conn, cmd.assertion_id, cmd.citations)
        if state is not None:
            _check_expected(expected_version, state.version)
        events = assertions.record_stance(state, cmd, cited)
        assert state is not None
        return await writer.append(
            conn,
            assertion_stream(cmd.assertion_id),
            state.version,
            events,
            ctx,
            timeline=state.timeline,
        )


async def retract_assertion(
    writer: Writer,
    cmd: RetractAssertion,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> AppendResult:
    async with writer.transaction() as conn:
        if replay := await writer.replayed(conn, ctx):
            return replay
        state, cited = await _assertion_and_cited(conn, cmd.assertion_id, cmd.citations)
        if state is not None:
            _check_expected(expected_version, state.version)
        events = assertions.retract_assertion(state, cmd, cited)
        assert state is not None
        return await writer.append(
            conn,
            assertion_stream(cmd.assertion_id),
            state.version,
            events,
            ctx,
            timeline=state.timeline,
        )
