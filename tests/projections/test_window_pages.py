"""Over generated timelines: every page of get_timeline_json is the slice of a naive query.

The naive query filters every row of the timeline with plain predicates (no
window split, no span classes, no per-kind scans, no actor keys, no literals),
sorts and is cut into pages here. Histories are written out of order (revisions
that move an assertion in valid time, backfilled stances, retractions), so the
known_at and recorded_at pages read revision rows of every kind.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.projections.raw_page import raw_page
from tests.projections.world import World, at
from timeline.commands.writer import Writer
from timeline.domain.errors import DomainError
from timeline.domain.occurred import parse_occurred
from timeline.domain.values import Place
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.timelines import get_timeline, get_timeline_json

# Valid time of every span class (projections.indexes.SPAN_BOUNDS), with spans on
# both sides of the class bounds (3 | 4, 15 | 16, 63 | 64 days) and single days.
OCCURRED = [
    *(f"2020-10-{day:02d}" for day in range(1, 29, 3)),
    "2020-09",
    "2020-10",
    "2020",
    "2020-10-01/2020-10-02",
    "2020-10-01/2020-10-04",
    "2020-10-02/2020-10-06",
    "2020-10-01/2020-10-16",
    "2020-09-30/2020-10-16",
    "2020-08-20/2020-10-22",
    "2020-08-19/2020-10-22",
    "1988/1994",
    "1900/2030",
]
KINDS = ["shelling", "talks", "armed_clash"]
ACTORS = ["Armenia", "AZERBAIJAN", "azerbaijan", "Iran", "Türkiye"]
PLACES = [None, "Stepanakert", "Shusha", "Hadrut 100%_x"]
WORDS = ["artillery", "drone", "ceasefire"]

days = st.integers(min_value=1, max_value=12)
hours = st.sampled_from([11, 12, 13])
assertion = st.fixed_dictionaries(
    {
        "occurred": st.sampled_from(OCCURRED),
        "kind": st.sampled_from(KINDS),
        "actors": st.lists(st.sampled_from(ACTORS), max_size=2, unique=True),
        "place": st.sampled_from(PLACES),
        "word": st.sampled_from(WORDS),
        "day": days,
    }
)
later = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 99), days, st.sampled_from(OCCURRED)),
    st.tuples(st.just("rekind"), st.integers(0, 99), days, st.sampled_from(KINDS)),
    st.tuples(st.just("deny"), st.integers(0, 99), days),
    st.tuples(st.just("retract"), st.integers(0, 99), days),
)


def _edges(occurred: set[str]) -> list[date]:
    """Where a window bound decides: on, just before and just after each start and end."""
    return sorted(
        {
            day + timedelta(days=shift)
            for parsed in map(parse_occurred, occurred)
            for day in (parsed.start, parsed.end)
            for shift in (-1, 0, 1)
        }
    )


def _window_days(edges: list[date]) -> st.SearchStrategy[date | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(edges),
        st.sampled_from(edges),
        st.dates(min_value=date(2020, 8, 10), max_value=date(2020, 11, 10)),
        st.sampled_from([date(1990, 6, 1), date(1899, 1, 1), date(2031, 1, 1)]),
    )


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    """None two times in three, else one of `values`: most probes keep most rows."""
    return st.one_of(st.none(), st.none(), st.sampled_from(values))


combined = st.builds(
    TimelineFilters,
    kind=st.one_of(
        st.just(()), st.just(()), st.lists(st.sampled_from(KINDS), max_size=3).map(tuple)
    ),
    status=st.one_of(
        st.just(()),
        st.just(()),
        st.lists(st.sampled_from(["active", "contested", "retracted"]), max_size=2).map(tuple),
    ),
    actor=_maybe(["armenia", "Azerbaijan", "TÜRKIYE", "nobody"]),
    place=_maybe(["shu", "STEPANAKERT", "100%_", "a", "nowhere"]),
    q=_maybe(["artillery", "drone ceasefire", "-artillery"]),
)
# Half the probes unfiltered, so most pages hold rows to cut at a window's edge.
filters = st.one_of(st.just(TimelineFilters()), combined)


async def _write(world: World, records: list[dict[str, Any]], script: list[Any]) -> list[str]:
    ids = []
    for fields in records:
        place = fields["place"]
        ids.append(
            await world.record(
                at(fields["day"]),
                occurred=fields["occurred"],
                kind=fields["kind"],
                actors=tuple(fields["actors"]),
                place=None if place is None else Place(name=place, precision="town"),
                summary=f"Shelling with {fields['word']}",
            )
        )
    for op in script:
        target = ids[op[1] % len(ids)]
        try:
            match op:
                case ("move", _, day, occurred):
                    await world.revise(target, at(day), occurred=occurred, reason="moved")
                case ("rekind", _, day, kind):
                    await world.revise(target, at(day), kind=kind, reason="rekind")
                case ("deny", _, day):
                    await world.stance(target, at(day), "denies")
                case ("retract", _, day):
                    await world.retract(target, at(day))
        except DomainError:
            pass  # a command the rules refuse is simply not in the history
    return ids


def _naive_sql(temporal: Temporal, wanted: TimelineFilters, params: dict[str, Any]) -> str:
    """Every row of the timeline answering `temporal` and the filters, in page order."""
    where = ["r.timeline = :slug"]
    k, r = temporal.known_at, temporal.recorded_at
    if not temporal.is_current:
        if r is None:
            where.append("r.recorded_to IS NULL")
        else:
            params["r"] = r
            where.append("r.recorded_from <= :r AND (r.recorded_to IS NULL OR r.recorded_to > :r)")
        cut = " OR r.known_cut_at > :r" if r is not None else ""
        if k is None:
            where.append(f"(r.known_to IS NULL{cut})")
        else:
            params["k"] = k
            where.append(f"r.known_from <= :k AND (r.known_to IS NULL OR r.known_to > :k{cut})")
    if temporal.occurred_from is not None:
        params["f"] = temporal.occurred_from
        where.append("r.occurred_end >= :f")
    if temporal.occurred_to is not None:
        params["t"] = temporal.occurred_to
        where.append("r.occurred_start <= :t")
    if wanted.kind:
        params["kinds"] = list(wanted.kind)
        where.append("r.kind = ANY(:kinds)")
    if wanted.status:
        params["statuses"] = list(wanted.status)
        where.append("r.status = ANY(:statuses)")
    if wanted.actor:
        params["actor"] = wanted.actor
        where.append("EXISTS (SELECT 1 FROM unnest(r.actors) x WHERE lower(x) = lower(:actor))")
    if wanted.place:
        params["place"] = wanted.place
        where.append("strpos(lower(r.place_name), lower(:place)) > 0")
    if wanted.q:
        params["q"] = wanted.q
        where.append("r.search @@ websearch_to_tsquery('english', :q)")
    table = "assertions" if temporal.is_current else "revisions"
    return (
        f"SELECT r.view FROM projections.{table} r WHERE {' AND '.join(where)} "
        "ORDER BY r.occurred_start, r.assertion_id"
    )


async def _pages(
    conn: AsyncConnection, slug: str, temporal: Temporal, wanted: TimelineFilters, limit: int
) -> list[str]:
    """The raw JSON arrays of every page, following next_cursor to the end."""
    pages: list[str] = []
    cursor = None
    while True:
        page = raw_page(
            await get_timeline_json(conn, slug, temporal, wanted, cursor=cursor, limit=limit)
        )
        pages.append(bytes(page.assertions).decode())
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


# TIMELINE_PROPERTY_EXAMPLES=200 for a long local run
@settings(max_examples=int(os.environ.get("TIMELINE_PROPERTY_EXAMPLES", "10")))
@given(
    records=st.lists(assertion, min_size=3, max_size=12),
    script=st.lists(later, max_size=8),
    data=st.data(),
)
async def test_every_page_is_the_slice_of_the_naive_query(
    engine: AsyncEngine,
    writer: Writer,
    records: list[dict[str, Any]],
    script: list[Any],
    data: st.DataObject,
) -> None:
    world = await World(writer).open()
    await _write(world, records, script)
    edges = _edges({r["occurred"] for r in records} | {op[3] for op in script if op[0] == "move"})
    async with engine.connect() as conn:
        recorded = (
            await conn.scalars(
                text("SELECT recorded_at FROM events WHERE timeline = :slug ORDER BY position"),
                {"slug": world.slug},
            )
        ).all()
        held = [None, *sorted(set(recorded))]
        for _ in range(12):
            recorded_at: datetime | None = data.draw(st.sampled_from(held))
            if recorded_at not in (None, held[1]) and data.draw(st.booleans()):
                recorded_at -= timedelta(microseconds=1)  # just before a write
            known_day = data.draw(_maybe(list(range(1, 13))))
            known_at = None if known_day is None else at(known_day, hour=data.draw(hours))
            start = data.draw(_window_days(edges))
            end = data.draw(st.one_of(st.none(), _window_days(edges)))
            if start is not None and end is not None and end < start and data.draw(st.booleans()):
                start, end = end, start  # mostly a window; sometimes one that ends before it starts
            temporal = Temporal.of(
                known_at=known_at,
                recorded_at=recorded_at,
                occurred_from=start,
                occurred_to=end,
                as_of=data.draw(st.one_of(st.none(), st.none(), st.none(), st.builds(at, days))),
            )
            wanted = data.draw(filters)
            limit = data.draw(st.integers(min_value=1, max_value=4))

            params: dict[str, Any] = {"slug": world.slug}
            naive = (await conn.scalars(text(_naive_sql(temporal, wanted, params)), params)).all()
            expected = [
                f"[{','.join(naive[i : i + limit])}]" for i in range(0, max(len(naive), 1), limit)
            ]
            assert await _pages(conn, world.slug, temporal, wanted, limit) == expected, (
                temporal,
                wanted,
                limit,
            )


async def test_a_window_lists_each_span_class_up_to_its_longest_reach(
    engine: AsyncEngine, writer: Writer
) -> None:
    """Spans of 4^k - 1 and 4^k days (both sides of each class bound) that end on the
    window's first day are listed; one day shorter, ending the day before, they are not."""
    world = await World(writer).open()
    first = date(2020, 10, 15)
    listed, left_out = [], []
    for k in range(1, 10):
        for span in (4**k - 1, 4**k):
            ends = {first: listed, first - timedelta(days=1): left_out}
            for end, ids in ends.items():
                start = end - timedelta(days=span)
                ids.append(await world.record(at(5), occurred=f"{start}/{end}"))
    await world.record(at(5), occurred=str(first))
    async with engine.connect() as conn:
        page = await get_timeline(conn, world.slug, Temporal(occurred_from=first), limit=500)
    assert page is not None
    ids = [v.id for v in page.assertions]
    assert sorted(ids[:-1]) == sorted(listed)
    assert not set(ids) & set(left_out)
