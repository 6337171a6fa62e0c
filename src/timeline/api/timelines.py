"""Timelines: open, list, read at any date, and what changed between two dates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import Fill
from timeline.api.assertion_bodies import AssertionBody
from timeline.api.auth import require_read
from timeline.api.caching import cached
from timeline.api.docs import READ_ERRORS, WRITE_ERRORS, IfNoneMatch, problems
from timeline.api.errors import ApiProblem
from timeline.api.params import Cursor, Limit, parse_time, provide_filters, provide_temporal
from timeline.api.schemas import TimelineBody
from timeline.api.state import Reader
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


class TimelineController(Controller):
    path = "/v1/timelines"
    tags = ("timelines",)
    guards = (require_read,)
    dependencies = {  # noqa: RUF012
        "temporal": Provide(provide_temporal),
        "filters": Provide(provide_filters),
        **WRITES,
    }

    @post("/", summary="Open a timeline", operation_id="OpenTimeline", **write_route(WRITE_ERRORS))
    async def open(
        self,
        new: NamedDependency[Write],
        data: Annotated[TimelineBody, Body(examples=examples.TIMELINE)],
    ) -> Response[TimelinePage]:
        """Open a timeline: a conflict or theme, addressed by its slug."""
        cmd = data.to_command()
        return await new.new(handlers.open_timeline, cmd, data, _timeline_page, "/v1/timelines/")

    @get(
        "/",
        summary="List timelines",
        operation_id="ListTimelines",
        responses={**problems(400), **READ_ERRORS},
    )
    async def list(
        self,
        reader: NamedDependency[Reader],
        cursor: Cursor = None,
        limit: Limit = 50,
        if_none_match: IfNoneMatch = None,
    ) -> Response[TimelineList]:
        """Every timeline, in slug order, a page at a time."""
        key = ("timelines", cursor, limit)
        fill = _timelines(cursor, limit)
        return await reader.serve(key, STORE, fill, temporal=None, if_none_match=if_none_match)

    @get(
        "/{slug:str}",
        summary="Read a timeline at any date",
        operation_id="GetTimeline",
        responses=READ_ERRORS,
    )
    async def read(
        self,
        reader: NamedDependency[Reader],
        slug: Slug,
        temporal: NamedDependency[Temporal],
        filters: NamedDependency[TimelineFilters],
        cursor: Cursor = None,
        limit: Limit = 50,
        if_none_match: IfNoneMatch = None,
    ) -> Response[TimelinePage]:
        """The timeline with its assertions ordered by `occurred_start`, as known at any date."""
        key = ("timeline", slug, temporal, _filters_key(filters), cursor, limit)
        fill = _page(slug, temporal, filters, cursor, limit)
        scope = Scope.of_timeline(slug)
        return await reader.serve(key, scope, fill, temporal=temporal, if_none_match=if_none_match)

    @get(
        "/{slug:str}/changes",
        summary="What changed in knowledge between two dates",
        operation_id="GetTimelineChanges",
        responses=READ_ERRORS,
    )
    async def changes(
        self,
        reader: NamedDependency[Reader],
        slug: Slug,
        temporal: NamedDependency[Temporal],
        since: Since,
        until: Until = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response[ChangesView]:
        """Assertions added, revised (with field diffs), disputed, retracted or left unsupported."""
        start, end = _window(since, until)
        fill = _changes(slug, start, end, temporal)
        if until is None:
            # "until now" is another answer at every instant (the body names it): not kept.
            async with reader.read() as conn:
                view, _ = await fill(conn)
            return cached(view, temporal, if_none_match=if_none_match)
        key, scope = ("changes", slug, start, end, temporal), Scope.of_timeline(slug)
        return await reader.serve(key, scope, fill, temporal=temporal, if_none_match=if_none_match)

    @post(
        "/{slug:str}/assertions",
        summary="Record an assertion",
        operation_id="RecordAssertion",
        **write_route(WRITE_ERRORS),
    )
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
