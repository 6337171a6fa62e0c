"""Over generated histories: incremental projections = a rebuild = a naive in-memory fold."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.projections.snapshot import snapshot
from tests.projections.world import World, at
from timeline.commands.writer import Writer
from timeline.domain import assertions
from timeline.domain.errors import DomainError
from timeline.domain.events import AssertionEvent
from timeline.domain.values import Citation
from timeline.projections.assertions import get_assertion
from timeline.projections.present import assertion_view
from timeline.projections.rebuild import rebuild
from timeline.projections.temporal import Temporal
from timeline.projections.timelines import get_timeline
from timeline.projections.views import AssertionView
from timeline.store.append import StreamRef
from timeline.store.read import read_stream

days = st.integers(min_value=1, max_value=12)
ops = st.one_of(
    st.tuples(st.just("record"), days, st.sampled_from([(0,), (1,), (0, 1)])),
    st.tuples(st.just("revise"), st.integers(0, 3), days, st.integers(0, 999)),
    st.tuples(
        st.just("stance"),
        st.integers(0, 3),
        days,
        st.sampled_from(["confirms", "denies", "disputes"]),
    ),
    st.tuples(st.just("retract"), st.integers(0, 3), days),
    st.tuples(st.just("withdraw"), st.integers(0, 1), days),
)


async def _play(world: World, sources: list[str], script: list[tuple[Any, ...]]) -> list[str]:
    ids: list[str] = []
    for op in script:
        try:
            match op:
                case ("record", day, cited):
                    citations = tuple(Citation(source_id=sources[i], quote="q") for i in cited)
                    ids.append(await world.record(at(day), citations=citations))
                case ("revise", n, day, words) if ids:
                    await world.revise(ids[n % len(ids)], at(day), summary=f"summary {words}")
                case ("stance", n, day, stance) if ids:
                    await world.stance(ids[n % len(ids)], at(day), stance)
                case ("retract", n, day) if ids:
                    await world.retract(ids[n % len(ids)], at(day))
                case ("withdraw", i, day):
                    await world.withdraw(sources[i], at(day))
        except DomainError:
            pass  # a command the rules refuse is simply not in the history
    return ids


async def _naive(
    conn: AsyncConnection,
    assertion_id: str,
    known_at: datetime | None,
    recorded_at: datetime | None,
) -> AssertionView | None:
    """The fold of the log itself, as held at recorded_at, known at known_at."""
    events = [
        r
        for r in await read_stream(conn, StreamRef("assertion", assertion_id))
        if recorded_at is None or r.recorded_at <= recorded_at
    ]
    folded = [r for r in events if known_at is None or r.event.reported_at <= known_at]  # type: ignore[attr-defined]
    state = assertions.fold(((r.version, cast(AssertionEvent, r.event)) for r in events), known_at)
    if state is None:
        return None
    return assertion_view(
        state,
        recorded_at=max(r.recorded_at for r in folded),
        last_position=max(r.position for r in folded),
    )


async def _answers(
    engine: AsyncEngine, world: World, ids: list[str], probes: list[Temporal]
) -> list[tuple[list[AssertionView | None], list[str]]]:
    out = []
    async with engine.connect() as conn:
        for temporal in probes:
            views = [await get_assertion(conn, a, temporal) for a in ids]
            page = await get_timeline(conn, world.slug, temporal, limit=500)
            assert page is not None
            out.append((views, [v.id for v in page.assertions]))
    return out


# TIMELINE_PROPERTY_EXAMPLES=200 for a long local run
@settings(max_examples=int(os.environ.get("TIMELINE_PROPERTY_EXAMPLES", "8")))
@given(
    script=st.lists(ops, min_size=1, max_size=8), probe_days=st.lists(days, min_size=2, max_size=4)
)
async def test_incremental_equals_rebuild_equals_naive_fold(
    rebuild_engine: AsyncEngine,
    rebuild_writer: Writer,
    script: list[tuple[Any, ...]],
    probe_days: list[int],
) -> None:
    world = await World(rebuild_writer).open()
    sources = [world.source, await world.register(f"{world.source}-b")]
    ids = await _play(world, sources, script)
    async with rebuild_engine.connect() as conn:
        log = [r for a in ids for r in await read_stream(conn, StreamRef("assertion", a))]
    recorded_probes = sorted({r.recorded_at for r in log})[:: max(1, len(log) // 3)]
    probes = [Temporal()] + [Temporal(known_at=at(d, hour=h)) for d in probe_days for h in (11, 12)]
    probes += [Temporal(recorded_at=r) for r in recorded_probes]
    probes += [Temporal(known_at=at(probe_days[0]), recorded_at=r) for r in recorded_probes]

    incremental = await _answers(rebuild_engine, world, ids, probes)
    async with rebuild_engine.connect() as conn:
        naive = [[await _naive(conn, a, p.known_at, p.recorded_at) for a in ids] for p in probes]
    for (views, listed), expected in zip(incremental, naive, strict=True):
        assert views == expected
        assert sorted(listed) == sorted(v.id for v in expected if v is not None)

    before = await snapshot(rebuild_engine)
    await rebuild(rebuild_engine, batch_size=7)
    assert await snapshot(rebuild_engine) == before
    assert await _answers(rebuild_engine, world, ids, probes) == incremental
