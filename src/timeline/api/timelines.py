"""Timelines: open, list, read at any date, and what changed between two dates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Response
from litestar.di import NamedDependency, Provide
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import Fill
from timeline.api.assertion_bodies import AssertionBody
from timeline.api.docs import READ_ERRORS, WRITE_ERRORS, problems
from timeline.api.errors import ApiProblem
from timeline.api.params import Cursor, Limit, parse_time, provide_filters
from timeline.api.reading import READS, ReadContext, read_route
from timeline.api.resources import ResourceController
from timeline.api.schemas import TimelineBody
from timeline.api.writes import WRITES, Write, now, write_route
from timeline.commands import handlers
from timeline.projections import assertions, timelines
from timeline.projections.freshness import STORE, Scope
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.views import (
    AssertionView,
    ChangesView,
    TimelineList,
    TimelinePage,
)

Slug = Annotated[str, Parameter(description="the timeline's slug", examples=examples.SLUG)]
Since = Annotated[
    str,
    Parameter(
        description="start of the knowledge window (exclusive): an RFC 3339 time or a plain date",
        examples=examples.SINCE,
    ),
]
Until = Annotated[
    str | None,
    Parameter(
        description="end of the knowledge window (inclusive; default now): an RFC 3339 "
        "time or a plain date",
        examples=examples.UNTIL,
        required=False,
    ),
]


def _missing(slug: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no timeline {slug!r}", field="slug")


async def _timeline_page(conn: Any, slug: str, temporal: Temporal) -> TimelinePage | None:
    return await timelines.get_timeline(conn, slug, temporal)


def _timelines(cursor: str | None, limit: int) -> Fill:
    async def fill(conn: Any) -> tuple[TimelineList, None]:
        return await timelines.list_timelines(conn, cursor=cursor, limit=limit), None

    return fill


def _page(
    slug: str, temporal: Temporal, filters: TimelineFilters, cursor: str | None, limit: int
) -> Fill:
    """A page of the timeline, its stored views as they are (a TimelinePage's JSON)."""

    async def fill(conn: Any) -> tuple[msgspec.Raw, None]:
        page = await timelines.get_timeline_json(
            conn, slug, temporal, filters, cursor=cursor, limit=limit
        )
        if page is None:
            raise _missing(slug)
        return page, None

    return fill


def _changes(slug: str, start: datetime, end: datetime, temporal: Temporal) -> Fill:
    async def fill(conn: Any) -> tuple[ChangesView, None]:
        view = await timelines.get_changes(conn, slug, start, end, temporal)
        if view is None:
            raise _missing(slug)
        return view, None

    return fill


def _window(since: str, until: str | None) -> tuple[datetime, datetime]:
    """The knowledge window (since, until]; until defaults to now."""
    start = parse_time(since, "since")
    end = parse_time(until, "until") if until else now()
    if end < start:
        raise ApiProblem(400, "invalid-window", "until precedes since", field="until")
    return start, end


class TimelineController(ResourceController):
    path = "/v1/timelines"
    tags = ("timelines",)
    dependencies = {**READS, "filters": Provide(provide_filters), **WRITES}  # noqa: RUF012

    @write_route("/", "Open a timeline", "OpenTimeline", WRITE_ERRORS)
    async def open(
        self,
        new: NamedDependency[Write],
        data: Annotated[TimelineBody, Body(examples=examples.TIMELINE)],
    ) -> Response[TimelinePage]:
        """Open a timeline: a conflict or theme, addressed by its slug."""
        cmd = data.to_command()
        return await new.new(handlers.open_timeline, cmd, data, _timeline_page, "/v1/timelines/")

    @read_route("/", "List timelines", "ListTimelines", {**problems(400), **READ_ERRORS})
    async def list(
        self, cursor: Cursor = None, limit: Limit = 50, *, store_ctx: NamedDependency[ReadContext]
    ) -> Response[TimelineList]:
        """Every timeline, in slug order, a page at a time."""
        return await store_ctx.serve(("timelines", cursor, limit), STORE, _timelines(cursor, limit))

    @read_route("/{slug:str}", "Read a timeline at any date", "GetTimeline")
    async def read(
        self,
        slug: Slug,
        filters: NamedDependency[TimelineFilters],
        cursor: Cursor = None,
        limit: Limit = 50,
        *,
        ctx: NamedDependency[ReadContext],
    ) -> Response[TimelinePage]:
        """The timeline with its assertions ordered by `occurred_start`, as known at any date."""
        key = ("timeline", slug, _filters_key(filters), cursor, limit)
        fill = _page(slug, ctx.temporal, filters, cursor, limit)
        return await ctx.serve(key, Scope.of_timeline(slug), fill)

    @read_route(
        "/{slug:str}/changes", "What changed in knowledge between two dates", "GetTimelineChanges"
    )
    async def changes(
        self,
        slug: Slug,
        temporal: NamedDependency[Temporal],
        since: Since,
        until: Until = None,
        *,
        ctx: NamedDependency[ReadContext],
    ) -> Response[ChangesView]:
        """Assertions added, revised (with field diffs), disputed, retracted or left unsupported."""
        start, end = _window(since, until)
        fill = _changes(slug, start, end, temporal)
        if until is None:
            # "until now" is another answer at every instant (the body names it): not kept.
            return await ctx.fresh(fill)
        return await ctx.serve(("changes", slug, start, end), Scope.of_timeline(slug), fill)

    @write_route("/{slug:str}/assertions", "Record an assertion", "RecordAssertion", WRITE_ERRORS)
    async def record(
        self,
        slug: Slug,
        new: NamedDependency[Write],
        data: Annotated[AssertionBody, Body(examples=examples.ASSERTION)],
    ) -> Response[AssertionView]:
        """Record one dated claim, with its claimant and the sources it rests on."""
        cmd = data.to_command(str(uuid.uuid4()), slug, now=now())
        read = assertions.get_assertion
        return await new.new(handlers.record_assertion, cmd, data, read, "/v1/assertions/")


def _filters_key(filters: TimelineFilters) -> TimelineFilters:
    """The filters as a cache key: repeated kinds and statuses in any order are one answer."""
    return msgspec.structs.replace(
        filters, kind=tuple(sorted(set(filters.kind))), status=tuple(sorted(set(filters.status)))
    )
