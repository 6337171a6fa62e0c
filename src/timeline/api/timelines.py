"""Timelines: open, list, read at any date, and what changed between two dates."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import Body, Parameter

from timeline.api import examples
from timeline.api.answers import serve
from timeline.api.auth import require_read, require_write
from timeline.api.caching import cached
from timeline.api.docs import READ_ERRORS, WRITE_ERRORS, IdempotencyKey, IfNoneMatch, problems
from timeline.api.errors import ApiProblem
from timeline.api.params import Cursor, Limit, parse_time, provide_filters, provide_temporal
from timeline.api.schemas import AssertionBody, TimelineBody, citations
from timeline.api.state import AppState
from timeline.api.writes import created, now, write_context
from timeline.commands import handlers
from timeline.domain.commands import OpenTimeline, RecordAssertion
from timeline.projections import assertions, timelines
from timeline.projections.freshness import STORE, Scope
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.views import (
    AssertionView,
    ChangesView,
    TimelineList,
    TimelinePage,
    TimelinePageJson,
)

Slug = Annotated[str, Parameter(description="the timeline's slug", examples=examples.SLUG)]


async def _timeline_page(conn: Any, slug: str, temporal: Temporal) -> TimelinePage | None:
    return await timelines.get_timeline(conn, slug, temporal)


class TimelineController(Controller):
    path = "/v1/timelines"
    tags = ("timelines",)
    guards = (require_read,)
    dependencies = {  # noqa: RUF012
        "temporal": Provide(provide_temporal),
        "filters": Provide(provide_filters),
    }

    @post(
        "/",
        summary="Open a timeline",
        operation_id="OpenTimeline",
        guards=[require_write],
        responses=WRITE_ERRORS,
        security=[{"bearer": []}],
    )
    async def open(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[TimelineBody, Body(examples=examples.TIMELINE)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TimelinePage]:
        """Open a timeline: a conflict or theme, addressed by its slug."""
        cmd = OpenTimeline(**_fields(data))
        result = await handlers.open_timeline(
            AppState.of(request).writer, cmd, write_context(request, data)
        )
        return await created(request, result, _timeline_page, f"/v1/timelines/{result.stream.id}")

    @get(
        "/",
        summary="List timelines",
        operation_id="ListTimelines",
        responses={**problems(400), **READ_ERRORS},
    )
    async def list(
        self,
        request: Request[Any, Any, Any],
        cursor: Cursor = None,
        limit: Limit = 50,
        if_none_match: IfNoneMatch = None,
    ) -> Response[TimelineList]:
        """Every timeline, in slug order, a page at a time."""

        async def fill(conn: Any) -> tuple[TimelineList, None]:
            return await timelines.list_timelines(conn, cursor=cursor, limit=limit), None

        key = ("timelines", cursor, limit)
        state = AppState.of(request)
        response = await serve(state, key, STORE, fill, temporal=None, if_none_match=if_none_match)
        return cast(Response[TimelineList], response)

    @get(
        "/{slug:str}",
        summary="Read a timeline at any date",
        operation_id="GetTimeline",
        responses=READ_ERRORS,
    )
    async def read(
        self,
        request: Request[Any, Any, Any],
        slug: Slug,
        temporal: NamedDependency[Temporal],
        filters: NamedDependency[TimelineFilters],
        cursor: Cursor = None,
        limit: Limit = 50,
        if_none_match: IfNoneMatch = None,
    ) -> Response[TimelinePage]:
        """The timeline with its assertions ordered by `occurred_start`, as known at any date."""

        async def fill(conn: Any) -> tuple[TimelinePageJson, None]:
            page = await timelines.get_timeline_json(
                conn, slug, temporal, filters, cursor=cursor, limit=limit
            )
            if page is None:
                raise ApiProblem(404, "not-found", f"no timeline {slug!r}", field="slug")
            return page, None

        key = ("timeline", slug, temporal, _filters_key(filters), cursor, limit)
        state = AppState.of(request)
        response = await serve(
            state,
            key,
            Scope.of_timeline(slug),
            fill,
            temporal=temporal,
            if_none_match=if_none_match,
        )
        # The stored views are served as they are; the body is a TimelinePage's JSON.
        return cast(Response[TimelinePage], response)

    @get(
        "/{slug:str}/changes",
        summary="What changed in knowledge between two dates",
        operation_id="GetTimelineChanges",
        responses=READ_ERRORS,
    )
    async def changes(
        self,
        request: Request[Any, Any, Any],
        slug: Slug,
        temporal: NamedDependency[Temporal],
        since: Annotated[
            str,
            Parameter(
                description="start of the knowledge window (exclusive): an RFC 3339 time or a "
                "plain date",
                examples=examples.SINCE,
            ),
        ],
        until: Annotated[
            str | None,
            Parameter(
                description="end of the knowledge window (inclusive; default now): an RFC 3339 "
                "time or a plain date",
                examples=examples.UNTIL,
                required=False,
            ),
        ] = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response[ChangesView]:
        """Assertions added, revised (with field diffs), disputed, retracted or left unsupported."""
        start = parse_time(since, "since")
        end = parse_time(until, "until") if until else now()
        if end < start:
            raise ApiProblem(400, "invalid-window", "until precedes since", field="until")
        state = AppState.of(request)
        if until is None:
            # "until now" is another answer at every instant (the body names it): not kept.
            async with state.read() as conn:
                view = await timelines.get_changes(conn, slug, start, end, temporal)
            if view is None:
                raise ApiProblem(404, "not-found", f"no timeline {slug!r}", field="slug")
            return cached(view, temporal, if_none_match=if_none_match)

        async def fill(conn: Any) -> tuple[ChangesView, None]:
            view = await timelines.get_changes(conn, slug, start, end, temporal)
            if view is None:
                raise ApiProblem(404, "not-found", f"no timeline {slug!r}", field="slug")
            return view, None

        key = ("changes", slug, start, end, temporal)
        response = await serve(
            state,
            key,
            Scope.of_timeline(slug),
            fill,
            temporal=temporal,
            if_none_match=if_none_match,
        )
        return cast(Response[ChangesView], response)

    @post(
        "/{slug:str}/assertions",
        summary="Record an assertion",
        operation_id="RecordAssertion",
        guards=[require_write],
        responses=WRITE_ERRORS,
        security=[{"bearer": []}],
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        slug: Slug,
        data: Annotated[AssertionBody, Body(examples=examples.ASSERTION)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[AssertionView]:
        """Record one dated claim, with its claimant and the sources it rests on."""
        cmd = RecordAssertion(
            assertion_id=str(uuid.uuid4()),
            timeline=slug,
            occurred=data.occurred,
            kind=data.kind,
            summary=data.summary,
            place=data.place.to_value() if data.place else None,
            actors=tuple(data.actors),
            quantities=tuple(q.to_value() for q in data.quantities),
            claimant=data.claimant,
            citations=citations(data.citations),
            reported_at=data.reported_at or now(),
        )
        writer = AppState.of(request).writer
        result = await handlers.record_assertion(writer, cmd, write_context(request, data))
        return await created(
            request, result, assertions.get_assertion, f"/v1/assertions/{result.stream.id}"
        )


def _filters_key(filters: TimelineFilters) -> TimelineFilters:
    """The filters as a cache key: repeated kinds and statuses in any order are one answer."""
    return msgspec.structs.replace(
        filters, kind=tuple(sorted(set(filters.kind))), status=tuple(sorted(set(filters.status)))
    )


def _fields(data: TimelineBody) -> dict[str, str]:
    return {
        "slug": data.slug,
        "title": data.title,
        "description": data.description,
        "region": data.region,
    }
