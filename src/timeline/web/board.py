"""What a timeline page shows, gathered from the same projection reads the API serves:
one page of assertions, the sources they cite, the knowledge steps, the axis and the map."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.axis import Axis, build_axis, lanes
from timeline.domain.words import time_words
from timeline.projections import sources, timelines
from timeline.projections.reports import report_times
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.views import AssertionView, SourceView, TimelinePage
from timeline.web.geo import MapView, build_map

PAGE_SIZE = 100  # cards on one page: a 10,000-assertion timeline is read a page at a time
# Report dates the knowledge control steps through: every one up to this many; past it,
# evenly spaced ones (the first, the last and the one shown always among them), since a
# slider of 10,000 steps is no use to a hand and its list would outweigh the page.
MAX_STEPS = 400


@dataclass
class Mark:
    """One assertion on the axis: where it starts and ends (0..1) and its lane."""

    assertion: AssertionView
    x0: float
    x1: float
    lane: int


@dataclass
class Board:
    page: TimelinePage
    sources: dict[str, SourceView]
    steps: list[datetime]
    step: int  # the index in `steps` of the knowledge shown (the last when known_at is unset)
    axis: Axis | None
    marks: list[Mark]
    lane_count: int
    map: MapView | None
    known_at: datetime | None

    @property
    def known_words(self) -> str:
        """Which knowledge the board shows, in words (the label of the knowledge control)."""
        if not self.steps:
            return "No reports yet."
        if self.step < 0:
            return f"Before the first report ({time_words(self.steps[0])}): nothing was known."
        latest = time_words(self.steps[self.step])
        where = f"report date {self.step + 1} of {len(self.steps)}"
        if self.known_at is None:
            return f"As known now: the latest report is of {latest} ({where})."
        known = time_words(self.known_at)
        return f"As known on {known}: the latest report then is of {latest} ({where})."

    @property
    def steps_iso(self) -> list[str]:
        return [t.isoformat().replace("+00:00", "Z") for t in self.steps]


def thin_steps(steps: list[datetime], known_at: datetime | None) -> list[datetime]:
    """At most MAX_STEPS (+1) of `steps`, evenly spaced, keeping the first, the last and the
    latest one at or before `known_at`."""
    if len(steps) <= MAX_STEPS:
        return steps
    stride = (len(steps) - 1) / (MAX_STEPS - 1)
    keep = {round(i * stride) for i in range(MAX_STEPS)}
    shown = _step_of(steps, known_at)
    if shown >= 0:
        keep.add(shown)
    return [steps[i] for i in sorted(keep)]


def _step_of(steps: list[datetime], known_at: datetime | None) -> int:
    if known_at is None:
        return len(steps) - 1
    before = [i for i, t in enumerate(steps) if t <= known_at]
    return before[-1] if before else -1


async def cited_sources(
    conn: AsyncConnection, assertions: list[AssertionView], temporal: Temporal
) -> dict[str, SourceView]:
    """Every source the assertions and their stances cite, and the sources those carry (`via`)."""
    wanted = {c.source_id for a in assertions for c in a.citations}
    wanted |= {c.source_id for a in assertions for s in a.stances for c in s.citations}
    found: dict[str, SourceView] = {}
    while wanted:
        source_id = wanted.pop()
        source = await sources.get_source(conn, source_id, temporal)
        if source is None:
            continue
        found[source_id] = source
        if source.via and source.via not in found:
            wanted.add(source.via)
    return found


async def read_board(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal,
    filters: TimelineFilters,
    *,
    cursor: str | None,
    limit: int = PAGE_SIZE,
) -> Board | None:
    """The board of timeline `slug` at `temporal`; None when there is no such timeline."""
    page = await timelines.get_timeline(conn, slug, temporal, filters, cursor=cursor, limit=limit)
    if page is None:
        return None
    steps = thin_steps(await report_times(conn, slug, temporal), temporal.known_at)
    axis = build_axis([(a.occurred_start, a.occurred_end) for a in page.assertions])
    marks: list[Mark] = []
    if axis is not None:
        spans = [axis.span(a.occurred_start, a.occurred_end) for a in page.assertions]
        for a, (x0, x1), lane in zip(page.assertions, spans, lanes(spans), strict=True):
            marks.append(Mark(a, x0, x1, lane))
    return Board(
        page=page,
        sources=await cited_sources(conn, page.assertions, temporal),
        steps=steps,
        step=_step_of(steps, temporal.known_at),
        axis=axis,
        marks=marks,
        lane_count=max((m.lane for m in marks), default=-1) + 1,
        map=build_map(page.assertions),
        known_at=temporal.known_at,
    )
