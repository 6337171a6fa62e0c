"""Load the seed timeline through the write path; a second load writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.commands import handlers
from timeline.commands.load import load_assertion, load_source, load_timeline
from timeline.commands.writer import WriteContext, Writer
from timeline.demo.seed import (
    Seed,
    open_timeline,
    read_seed,
    record_assertion,
    record_stances,
    register_sources,
)

S = TypeVar("S")


class LoadReport(msgspec.Struct, kw_only=True):
    """How many events each kind of command wrote, and how many were there already."""

    timelines: int = 0
    sources: int = 0
    assertions: int = 0
    stances: int = 0
    present: int = 0

    @property
    def written(self) -> int:
        return self.timelines + self.sources + self.assertions + self.stances


async def load_demo(writer: Writer, seed: Seed | None = None) -> LoadReport:
    """Write whatever of the seed is not in the store yet, each command in its own transaction.

    Ids are stable, so presence is checked on the aggregates themselves rather
    than with idempotency keys, which expire.
    """
    seed = seed or read_seed()
    ctx = WriteContext(actor="timeline demo load", correlation_id=f"demo:{seed.namespace}")
    report = LoadReport()
    if await _loaded(writer, load_timeline, seed.timeline.slug) is None:
        await handlers.open_timeline(writer, open_timeline(seed), ctx)
        report.timelines += 1
    else:
        report.present += 1
    for cmd in register_sources(seed):
        if await _loaded(writer, load_source, cmd.source_id) is None:
            await handlers.register_source(writer, cmd, ctx)
            report.sources += 1
        else:
            report.present += 1
    for item in seed.assertions:
        recorded = record_assertion(seed, item)
        state = await _loaded(writer, load_assertion, recorded.assertion_id)
        if state is None:
            await handlers.record_assertion(writer, recorded, ctx)
            report.assertions += 1
        else:
            report.present += 1
        seen = {(s.party, s.stance, s.statement) for s in state.stances} if state else set()
        for stance in record_stances(seed, item):
            if (stance.party, stance.stance, stance.statement) in seen:
                report.present += 1
                continue
            await handlers.change_assertion(writer, stance, ctx)
            report.stances += 1
    return report


async def _loaded(
    writer: Writer, load: Callable[[AsyncConnection, str], Awaitable[S | None]], stream_id: str
) -> S | None:
    """The aggregate's state in the store now, or None when it is not there yet."""
    async with writer.engine.connect() as conn:
        return await load(conn, stream_id)
