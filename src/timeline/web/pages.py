"""The viewer's pages: `/` lists the timelines, `/timelines/{slug}` shows one as known on
any day, with the history of each assertion and what changed between two dates.

Pages take the API's own query parameters (known_at, recorded_at, as_of,
occurred_from, occurred_to, kind, actor, status, q), parsed by the same
providers, so a view is a link and a bad parameter is the same 400. They read
the same projections the API serves. The board (cards, axis, map) is one
template, served inside the page and alone at `.../board`, which the page's
script fetches to replay another date in place: one renderer, no second
definition of the data in JavaScript.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from litestar.response import Template

from timeline.api.auth import require_read
from timeline.api.errors import ApiProblem
from timeline.api.params import Cursor, parse_time, provide_filters, provide_temporal
from timeline.api.state import Reader
from timeline.api.writes import now
from timeline.projections import assertions, timelines
from timeline.projections.reports import report_times
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.web.assets import stylesheet
from timeline.web.board import PAGE_SIZE, cited_sources, read_board

# Everything the pages load comes from this server; no inline script, and no inline
# style but the page's own stylesheet, allowed by its hash.
CSP = (
    "default-src 'none'; script-src 'self'; "
    f"style-src 'self' {stylesheet()[1]}; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)

# The parameters a view keeps in its URL, in the order they are written there.
VIEW_PARAMS = (
    "known_at",
    "recorded_at",
    "as_of",
    "occurred_from",
    "occurred_to",
    "kind",
    "actor",
    "place",
    "status",
    "q",
)

PageSize = Annotated[int, Parameter(ge=1, le=500, required=False)]


def view_query(request: Request[Any, Any, Any], *, drop: tuple[str, ...] = ()) -> str:
    """The view's parameters from the request, as a query string (empty ones left out)."""
    pairs = [
        (name, value)
        for name in VIEW_PARAMS
        if name not in drop
        for value in request.query_params.getall(name, [])
        if value
    ]
    return urlencode(pairs)


def _missing(slug: str) -> ApiProblem:
    return ApiProblem(404, "not-found", f"no timeline {slug!r}", field="slug")


async def provide_view(
    reader: NamedDependency[Reader],
    request: Request[Any, Any, Any],
    slug: str,
    temporal: NamedDependency[Temporal],
    filters: NamedDependency[TimelineFilters],
    cursor: Cursor = None,
    limit: PageSize = PAGE_SIZE,
) -> dict[str, Any]:
    """What a timeline's page and its board show: the board and the view's parameters."""
    async with reader.read() as conn:
        board = await read_board(conn, slug, temporal, filters, cursor=cursor, limit=limit)
    if board is None:
        raise _missing(slug)
    query = view_query(request)
    return {
        "board": board,
        "slug": slug,
        "query": query,
        "known_query": view_query(request, drop=VIEW_PARAMS[3:]),
        "temporal": temporal,
        "filters": filters,
        "cursor": cursor,
        "params": {n: request.query_params.get(n, "") for n in VIEW_PARAMS},
    }


class ViewerController(Controller):
    path = "/"
    include_in_schema = False
    guards = (require_read,)
    response_headers = (ResponseHeader(name="Content-Security-Policy", value=CSP),)
    dependencies = {  # noqa: RUF012
        "temporal": Provide(provide_temporal),
        "filters": Provide(provide_filters),
        "view": Provide(provide_view),
    }

    @get("/")
    async def index(self, reader: NamedDependency[Reader]) -> Template:
        """Every timeline, with a link to its page."""
        async with reader.read() as conn:
            listing = await timelines.list_timelines(conn, limit=500)
        return Template("index.html", context={"timelines": listing.timelines})

    @get("/timelines/{slug:str}")
    async def timeline(self, view: NamedDependency[dict[str, Any]]) -> Template:
        """One timeline as known at `known_at` (now by default): controls and the board."""
        return Template("timeline.html", context=view)

    @get("/timelines/{slug:str}/board")
    async def board(self, view: NamedDependency[dict[str, Any]]) -> Template:
        """The board alone (count, axis, map, cards): what the page swaps in when replaying."""
        return Template("board.html", context=view)

    @get("/timelines/{slug:str}/changes")
    async def changes(
        self,
        reader: NamedDependency[Reader],
        slug: str,
        temporal: NamedDependency[Temporal],
        since: Annotated[str | None, Parameter(max_length=100, required=False)] = None,
        until: Annotated[str | None, Parameter(max_length=100, required=False)] = None,
    ) -> Template:
        """What changed in knowledge between two dates, as a list a person reads."""
        async with reader.read() as conn:
            steps = await report_times(conn, slug, temporal)
            # by default, everything since the day before the first report
            start = parse_time(since, "since") if since else _before(steps)
            end = parse_time(until, "until") if until else now()
            if end < start:
                raise ApiProblem(400, "invalid-window", "until precedes since", field="until")
            view = await timelines.get_changes(conn, slug, start, end, temporal)
        if view is None:
            raise _missing(slug)
        context = {"view": view, "slug": slug, "steps": steps, "since": since, "until": until}
        return Template("changes.html", context=context)

    @get("/assertions/{assertion_id:str}")
    async def history(
        self,
        reader: NamedDependency[Reader],
        request: Request[Any, Any, Any],
        assertion_id: str,
        temporal: NamedDependency[Temporal],
    ) -> Template:
        """One assertion as known at `known_at`, and every version of it with diffs and reasons."""
        async with reader.read() as conn:
            assertion = await assertions.get_assertion(conn, assertion_id, temporal)
            history = await assertions.get_history(conn, assertion_id, temporal)
            if assertion is None or history is None:
                raise ApiProblem(
                    404, "not-found", f"no assertion {assertion_id!r}", field="assertion_id"
                )
            sources = await cited_sources(conn, [assertion], temporal)
        context = {
            "a": assertion,
            "history": history,
            "sources": sources,
            "query": view_query(request),
        }
        return Template("history.html", context=context)


def _before(steps: list[datetime]) -> datetime:
    return (steps[0] if steps else now()) - timedelta(days=1)
