"""One function per command: what it loads and which domain decision it runs.

`Writer.run` does the rest (load, decide, append, apply; see writer.py). Each
returns the Written result; `replayed` is set when an idempotency key was seen
before, and then nothing was written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from timeline.commands.load import (
    assertion_stream,
    assertion_target,
    source_target,
    timeline_target,
)
from timeline.commands.writer import NO_CONTEXT, Reaction, WriteContext, Writer, Written
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
from timeline.domain.events import AssertionEvent, SourceEvent
from timeline.domain.sources import Source
from timeline.domain.values import Citation


def _cited(*groups: tuple[Citation, ...]) -> list[str]:
    return [c.source_id for group in groups for c in group]


async def open_timeline(
    writer: Writer, cmd: OpenTimeline, ctx: WriteContext = NO_CONTEXT
) -> Written:
    return await writer.run(
        timeline_target(cmd.slug), lambda got: timelines.open_timeline(got.state, cmd), ctx
    )


async def retitle_timeline(
    writer: Writer,
    cmd: RetitleTimeline,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> Written:
    return await writer.run(
        timeline_target(cmd.slug, expected_version),
        lambda got: timelines.retitle_timeline(got.state, cmd),
        ctx,
    )


async def register_source(
    writer: Writer, cmd: RegisterSource, ctx: WriteContext = NO_CONTEXT
) -> Written:
    return await _write_source(writer, cmd, cmd.via, sources.register_source, ctx)


async def update_source(
    writer: Writer,
    cmd: UpdateSource,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> Written:
    via = cmd.via if isinstance(cmd.via, str) else None
    return await _write_source(writer, cmd, via, sources.update_source, ctx, expected_version)


_C = TypeVar("_C", RegisterSource, UpdateSource)


async def _write_source(
    writer: Writer,
    cmd: _C,
    via: str | None,
    decide: Callable[[Source | None, _C, Source | None], list[SourceEvent]],
    ctx: WriteContext,
    expected_version: int | None = None,
) -> Written:
    """A source write that also loads the source `via` names, which the decision checks."""
    return await writer.run(
        source_target(cmd.source_id, expected_version, sources=[via] if via else []),
        lambda got: decide(got.state, cmd, got.sources[via] if via else None),
        ctx,
    )


async def withdraw_source(
    writer: Writer,
    cmd: WithdrawSource,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> Written:
    """Withdraw a source and, in the same write, tell every assertion citing it."""
    return await writer.run(
        source_target(cmd.source_id, expected_version, citing=cmd.source_id),
        lambda got: sources.withdraw_source(got.state, cmd),
        ctx,
        react=lambda got: (
            Reaction(
                stream=assertion_stream(assertion_id),
                events=assertions.react_to_withdrawal(
                    state, cmd.source_id, cmd.reason, cmd.withdrawn_at
                ),
                causation_id=f"source:{cmd.source_id}",
            )
            for assertion_id, state in sorted(got.citing.items())
        ),
    )


async def record_assertion(
    writer: Writer, cmd: RecordAssertion, ctx: WriteContext = NO_CONTEXT
) -> Written:
    return await writer.run(
        assertion_target(cmd.assertion_id, timelines=[cmd.timeline], sources=_cited(cmd.citations)),
        lambda got: assertions.record_assertion(
            got.state, cmd, got.timelines[cmd.timeline], got.sources
        ),
        ctx,
    )


_DECISIONS: dict[type, Callable[[Any, Any, Any], list[AssertionEvent]]] = {
    ReviseAssertion: assertions.revise_assertion,
    RecordStance: assertions.record_stance,
    RetractAssertion: assertions.retract_assertion,
}


async def change_assertion(
    writer: Writer,
    cmd: ReviseAssertion | RecordStance | RetractAssertion,
    ctx: WriteContext = NO_CONTEXT,
    expected_version: int | None = None,
) -> Written:
    """Revise, take a stance on or retract an assertion: the command says which."""
    decide = _DECISIONS[type(cmd)]
    return await writer.run(
        assertion_target(cmd.assertion_id, expected_version, sources=_cited(cmd.citations)),
        lambda got: decide(got.state, cmd, got.sources),
        ctx,
    )
