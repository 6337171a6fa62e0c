"""Temporal reads: status in time, the withdrawal cascade, change windows, filters and pages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.projections.world import World, at, killed
from timeline.commands import handlers
from timeline.commands.writer import Writer
from timeline.domain.commands import RetitleTimeline
from timeline.domain.values import Citation, Place
from timeline.projections.assertions import get_assertion, get_history
from timeline.projections.sources import get_source
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.timelines import get_changes, get_timeline, list_timelines
from timeline.projections.views import InvalidPageCursor, TimelinePage


async def _status(engine: AsyncEngine, assertion_id: str, known_at: int | None) -> str | None:
    temporal = Temporal(known_at=None if known_at is None else at(known_at))
    async with engine.connect() as conn:
        view = await get_assertion(conn, assertion_id, temporal)
    return None if view is None else view.status


async def test_status_is_contested_from_the_denial_and_retracted_from_the_retraction(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    a = await world.record(at(5))
    await world.stance(a, at(8), "denies")
    await world.retract(a, at(15))
    await world.stance(a, at(7), "confirms", party="Azerbaijan")  # a late backfill

    assert [await _status(engine, a, d) for d in (4, 6, 7, 8, 14, 15)] == [
        None,
        "active",
        "active",
        "contested",
        "contested",
        "retracted",
    ]
    assert await _status(engine, a, None) == "retracted"


async def test_a_withdrawn_source_leaves_unsupported_only_the_assertions_resting_on_it_alone(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    other = await world.register(f"{world.source}-live")
    alone = await world.record(at(5))
    both = await world.record(
        at(5),
        citations=(Citation(source_id=world.source), Citation(source_id=other)),
    )
    await world.withdraw(world.source, at(10))

    assert await _status(engine, alone, None) == "unsupported"
    assert await _status(engine, alone, 9) == "active"
    assert await _status(engine, alone, 10) == "unsupported"
    assert await _status(engine, both, None) == "active"
    async with engine.connect() as conn:
        source_now = await get_source(conn, world.source)
        source_then = await get_source(conn, world.source, Temporal(known_at=at(9)))
        history = await get_history(conn, both)
    assert source_now is not None
    assert source_now.status == "withdrawn"
    assert source_then is not None
    assert source_then.status == "active"
    assert history is not None
    assert history.revisions[-1].event_type == "CitedSourceWithdrawn"
    assert [c.field for c in history.revisions[-1].changes] == ["withdrawn_sources"]


async def test_changes_lists_what_was_learned_in_the_window_and_not_untouched_assertions(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    untouched = await world.record(at(2))
    revised = await world.record(at(3), quantities=killed(10))
    await world.revise(revised, at(6), quantities=killed(20), reason="update")
    disputed = await world.record(at(3))
    await world.stance(disputed, at(7), "disputes")
    retracted = await world.record(at(3))
    await world.retract(retracted, at(8))
    added = await world.record(at(9))
    await world.withdraw(world.source, at(11))

    async with engine.connect() as conn:
        window = await get_changes(conn, world.slug, at(5), at(10))
        later = await get_changes(conn, world.slug, at(10), at(12))
        missing = await get_changes(conn, "no-such-timeline", at(5), at(10))

    assert window is not None
    assert [c.assertion_id for c in window.added] == [added]
    assert [c.assertion_id for c in window.revised] == [revised]
    assert [(c.field, c.before, c.after) for c in window.revised[0].changes] == [
        (
            "quantities",
            [
                {
                    "measure": "killed",
                    "low": 10,
                    "high": None,
                    "approximate": False,
                    "qualifier": "more than 10",
                    "best": None,
                }
            ],
            [
                {
                    "measure": "killed",
                    "low": 20,
                    "high": None,
                    "approximate": False,
                    "qualifier": "more than 20",
                    "best": None,
                }
            ],
        ),
    ]
    assert [c.assertion_id for c in window.stances] == [disputed]
    assert [c.assertion_id for c in window.retracted] == [retracted]
    listed = {
        c.assertion_id
        for group in (
            window.added,
            window.revised,
            window.stances,
            window.retracted,
            window.unsupported,
        )
        for c in group
    }
    assert untouched not in listed
    assert later is not None
    assert sorted(c.assertion_id for c in later.unsupported) == sorted(
        [untouched, revised, disputed, added]
    )
    assert missing is None


async def test_a_timeline_page_filters_orders_by_occurred_and_pages_by_cursor(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    ids = [
        await world.record(at(5), occurred=f"2020-10-{day:02d}", summary=f"Shelling day {day}")
        for day in (9, 3, 7, 1, 5)
    ]
    await world.record(
        at(5),
        occurred="2020-10-04",
        kind="talks",
        summary="Ceasefire talks in Moscow",
        actors=("Russia",),
        place=Place(name="Moscow", precision="town"),
    )
    async with engine.connect() as conn:
        first = await get_timeline(conn, world.slug, limit=2)
        assert first is not None
        assert first.next_cursor is not None
        second = await get_timeline(conn, world.slug, cursor=first.next_cursor, limit=10)
        talks = await get_timeline(conn, world.slug, filters=TimelineFilters(kind=("talks",)))
        moscow = await get_timeline(conn, world.slug, filters=TimelineFilters(place="moscow"))
        russia = await get_timeline(conn, world.slug, filters=TimelineFilters(actor="russia"))
        searched = await get_timeline(conn, world.slug, filters=TimelineFilters(q="ceasefire"))
        window = await get_timeline(
            conn, world.slug, Temporal(occurred_from=at(4).date(), occurred_to=at(7).date())
        )
        with pytest.raises(InvalidPageCursor):
            await get_timeline(conn, world.slug, cursor="not-a-cursor")
        absent = await get_timeline(conn, "no-such-timeline")
        listed = await list_timelines(conn, limit=500)

    assert [v.occurred for v in first.assertions] == ["2020-10-01", "2020-10-03"]
    assert second is not None
    assert [v.occurred for v in second.assertions] == [
        "2020-10-04",
        "2020-10-05",
        "2020-10-07",
        "2020-10-09",
    ]
    assert second.next_cursor is None
    for page in (talks, moscow, russia, searched):
        assert page is not None
        assert [v.summary for v in page.assertions] == ["Ceasefire talks in Moscow"]
    assert window is not None
    assert [v.occurred for v in window.assertions] == ["2020-10-04", "2020-10-05", "2020-10-07"]
    assert absent is None
    summary = next(t for t in listed.timelines if t.slug == world.slug)
    assert summary.assertion_count == len(ids) + 1
    assert summary.last_position == first.last_position


@contextlib.asynccontextmanager
async def _statements(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """The SQL statements sent to the database while the block runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_timeline_page_is_one_statement_at_every_time_and_matches_its_assertions(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    ids = [
        await world.record(at(5), occurred=f"2020-10-{day:02d}", quantities=killed(day))
        for day in (3, 1, 2)
    ]
    await world.revise(ids[0], at(9), quantities=killed(30), reason="update")
    await world.stance(ids[1], at(8), "denies")
    retitled = await handlers.retitle_timeline(
        writer, RetitleTimeline(slug=world.slug, title="Renamed")
    )
    assert retitled.recorded_at is not None
    before_retitle = retitled.recorded_at - timedelta(microseconds=1)

    probes = [
        Temporal(),
        Temporal(known_at=at(8)),
        Temporal(recorded_at=before_retitle),
        Temporal(known_at=at(8), recorded_at=before_retitle),
    ]
    async with engine.connect() as conn:
        pages: list[TimelinePage] = []
        for temporal in probes:
            async with _statements(engine) as sent:
                page = await get_timeline(conn, world.slug, temporal, limit=2)
            assert len(sent) == 1, temporal
            assert page is not None
            pages.append(page)
        singles = [[await get_assertion(conn, a, t) for a in ids] for t in probes]

    for page, views in zip(pages, singles, strict=True):
        by_occurred = sorted((v for v in views if v is not None), key=lambda v: v.occurred_start)
        assert page.assertions == by_occurred[:2]
        assert page.next_cursor is not None
    now, known, held, held_known = pages
    assert [now.title, known.title, held.title, held_known.title] == [
        "Renamed",
        "Renamed",
        "NK 2020",
        "NK 2020",
    ]
    assert (now.version, held.version) == (2, 1)
    assert held.last_position < now.last_position == known.last_position
    assert [v.quantities[0].low for v in known.assertions] == [1, 2]
    assert [v.status for v in known.assertions] == ["contested", "active"]


async def test_a_timeline_page_before_the_timeline_was_opened_is_absent(
    engine: AsyncEngine, writer: Writer
) -> None:
    world = await World(writer).open()
    async with engine.connect() as conn:
        page = await get_timeline(conn, world.slug, Temporal(recorded_at=at(1)))
    assert page is None
