"""DESIGN §1's example, exactly: now 300; known at 10 Oct 250, at 6 Oct 200, at 4 Oct absent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.projections.world import World, at, killed
from timeline.commands.writer import Writer
from timeline.projections.assertions import get_assertion, get_history
from timeline.projections.temporal import Temporal
from timeline.projections.timelines import get_timeline
from timeline.projections.views import AssertionView


async def _now(engine: AsyncEngine) -> datetime:
    async with engine.connect() as conn:
        value = await conn.scalar(text("SELECT clock_timestamp()"))
    assert isinstance(value, datetime)
    return value


def _low(view: AssertionView | None) -> int | None:
    """The killed count of a state; None when the assertion is absent."""
    return None if view is None else view.quantities[0].low


async def test_a_late_older_report_slots_into_knowledge_order(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    a = await world.record(at(5), quantities=killed(200))
    await world.revise(a, at(12), quantities=killed(300), reason="new toll")
    before_backfill = await _now(engine)
    await world.revise(a, at(9), quantities=killed(250), reason="typed in late")

    async with engine.connect() as conn:
        now = await get_assertion(conn, a)
        k10 = await get_assertion(conn, a, Temporal(known_at=at(10)))
        k6 = await get_assertion(conn, a, Temporal(known_at=at(6)))
        k4 = await get_assertion(conn, a, Temporal(known_at=at(4)))
        k10_before = await get_assertion(
            conn, a, Temporal(known_at=at(10), recorded_at=before_backfill)
        )
        page = await get_timeline(conn, world.slug, Temporal(known_at=at(10)))
        history = await get_history(conn, a)

    assert _low(now) == 300
    assert _low(k10) == 250
    assert _low(k6) == 200
    assert k4 is None
    assert _low(k10_before) == 200
    assert page is not None
    assert [_low(v) for v in page.assertions] == [250]
    assert history is not None
    assert [r.version for r in history.revisions] == [1, 3, 2]
    assert [(r.known_from, r.known_to) for r in history.revisions] == [
        (at(5), at(9)),
        (at(9), at(12)),
        (at(12), None),
    ]
    assert [c.field for c in history.revisions[1].changes] == ["quantities"]
    assert history.revisions[1].reason == "typed in late"
