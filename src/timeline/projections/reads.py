"""Temporal reads, one function per question.

Every read is an index lookup on the projection tables, never a replay:
- current state reads `projections.assertions`;
- `known_at=T` reads the live revision rows whose knowledge interval holds T;
- `recorded_at=R` reads the revision rows the store held at R (bitemporal
  rows: `recorded_from <= R < recorded_to`, with an in-place cut of an open
  knowledge interval counted only from `known_cut_at`), and combines with
  `known_at`. Timelines and sources, which have few events, are folded from
  their streams' events with `recorded_at <= R`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

import msgspec
from sqlalchemy import Integer, Text, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from timeline.domain import sources as source_domain
from timeline.domain import timelines as timeline_domain
from timeline.domain.events import SourceEvent, TimelineEvent
from timeline.projections.present import (
    assertion_view_of_row,
    changes_of_row,
    citations_of_row,
    decode_views,
    source_view,
)
from timeline.projections.tables import ACTOR_KEYS, SPAN_BOUNDS, span_class
from timeline.projections.temporal import NO_FILTERS, NOW, Temporal, TimelineFilters
from timeline.projections.views import (
    AssertionView,
    ChangedAssertion,
    ChangesView,
    HistoryView,
    InvalidPageCursor,
    RevisionView,
    SourceView,
    TimelineList,
    TimelinePage,
    TimelinePageJson,
    TimelineSummary,
)
from timeline.store.append import StreamRef
from timeline.store.codec import decode_data
from timeline.store.read import read_stream

MAX_LIMIT = 500
INFINITY = "'infinity'::timestamptz"

# -- page cursors -------------------------------------------------------------


def _encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(["p1", *parts])).rstrip(b"=").decode()


def _decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = msgspec.json.decode(raw, type=list[str])
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise InvalidPageCursor("not a page cursor of this list") from None
    if len(parts) != size + 1 or parts[0] != "p1":
        raise InvalidPageCursor("not a page cursor of this list")
    return parts[1:]


@lru_cache(maxsize=512)
def _sql(sql: str, literal: tuple[str, ...] = ()) -> TextClause:
    """text(sql), made once per distinct statement (reads build few distinct ones).

    The parameters named in `literal` are written into the statement as SQL
    literals when it runs (SQLAlchemy's literal_execute, quoted by the dialect).
    """
    clause = text(sql)
    if literal:
        clause = clause.bindparams(
            *(bindparam(name, type_=_LITERAL[name], literal_execute=True) for name in literal)
        )
    return clause


# Written into a filtered page's statement as literals (below), with their types.
_LITERAL: dict[str, type[TypeEngine[Any]]] = {
    "slug": Text,
    "actor": Text,
    "place": Text,
    "q": Text,
    "limit": Integer,
    "page_size": Integer,
}


def _literal_names(filters: TimelineFilters, params: dict[str, Any]) -> tuple[str, ...]:
    """The parameters a page with these filters is planned on, as literals.

    Whether `actor=`, `place=` or `q=` is best read through its inverted index (a rare
    value) or by walking the page in order (a common one) depends on the value
    and the timeline. A prepared statement whose parameters are bound may be
    run with a generic plan made for no value in particular, which walks a huge
    timeline for a rare actor, or sorts every match of a common one. With the
    values written in, each distinct question is planned for what it asks.
    A value holding NUL stays bound, so PostgreSQL refuses it as a data error.
    """
    if not (filters.actor or filters.q or filters.place):
        return ()
    names = tuple(name for name in _LITERAL if name in params)
    if any(isinstance(params[name], str) and "\x00" in params[name] for name in names):
        return ()
    return names


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


# -- visibility on the three clocks -------------------------------------------


def _visible(temporal: Temporal, params: dict[str, Any], alias: str = "r") -> list[str]:
    """WHERE terms picking the one revision row per assertion that answers `temporal`.

    Open interval ends are compared through coalesce(..., 'infinity') so the
    terms match the expressions of the read indexes (migration 0003) and are
    checked inside the index, not on heap rows.
    """
    where: list[str] = []
    k, r = temporal.known_at, temporal.recorded_at
    if r is None:
        where.append(f"{alias}.recorded_to IS NULL")
    else:
        params["recorded_at"] = r
        where.append(
            f"{alias}.recorded_from <= :recorded_at "
            f"AND coalesce({alias}.recorded_to, {INFINITY}) > :recorded_at"
        )
    if k is not None:
        params["known_at"] = k
        where.append(f"{alias}.known_from <= :known_at")
        open_end = f"coalesce({alias}.known_to, {INFINITY}) > :known_at"
    else:
        open_end = f"{alias}.known_to IS NULL"
    if r is not None:
        open_end = f"({open_end} OR {alias}.known_cut_at > :recorded_at)"
    where.append(open_end)
    return where


def _occurred_window(temporal: Temporal, params: dict[str, Any], alias: str) -> list[str]:
    where = []
    if temporal.occurred_from is not None:
        params["occurred_from"] = temporal.occurred_from
        where.append(f"{alias}.occurred_end >= :occurred_from")
    if temporal.occurred_to is not None:
        params["occurred_to"] = temporal.occurred_to
        where.append(f"{alias}.occurred_start <= :occurred_to")
    return where


def _filters(filters: TimelineFilters, params: dict[str, Any], alias: str) -> list[str]:
    where = []
    if filters.kind:
        params["kinds"] = list(filters.kind)
        where.append(f"{alias}.kind = ANY(:kinds)")
    if filters.status:
        params["statuses"] = list(filters.status)
        where.append(f"{alias}.status = ANY(:statuses)")
    if filters.actor:
        # one key of the timeline's actor index (migration 0006): on the rows of
        # timeline :slug it holds exactly when an actor equals :actor, ignoring case
        params["actor"] = filters.actor
        where.append(
            f"{ACTOR_KEYS}({alias}.timeline, {alias}.actors) "
            "@> ARRAY[CAST(:slug AS text) || chr(31) || lower(:actor)]"
        )
    if filters.place:
        escaped = filters.place.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["place"] = f"%{escaped}%"
        where.append(f"{alias}.place_name ILIKE :place")
    if filters.q:
        params["q"] = filters.q
        where.append(f"{alias}.search @@ websearch_to_tsquery('english', :q)")
    return where


# -- timelines ----------------------------------------------------------------


class _TimelineHead(msgspec.Struct, kw_only=True):
    slug: str
    title: str
    description: str
    region: str
    version: int
    last_position: int


async def _timeline_head(
    conn: AsyncConnection, slug: str, recorded_at: datetime | None
) -> _TimelineHead | None:
    if recorded_at is None:
        row = (
            await conn.execute(
                text(
                    "SELECT slug, title, description, region, version, last_position "
                    "FROM projections.timelines WHERE slug = :slug"
                ),
                {"slug": slug},
            )
        ).first()
        if row is None:
            return None
        return _TimelineHead(**row._mapping)
    recorded = await read_stream(conn, StreamRef("timeline", slug), recorded_at=recorded_at)
    state = timeline_domain.fold(cast(TimelineEvent, r.event) for r in recorded)
    if state is None:
        return None
    return _TimelineHead(
        slug=state.slug,
        title=state.title,
        description=state.description,
        region=state.region,
        version=state.version,
        last_position=max(r.position for r in recorded),
    )


async def list_timelines(
    conn: AsyncConnection, *, cursor: str | None = None, limit: int = 50
) -> TimelineList:
    """Every timeline by slug, a page at a time."""
    limit = _limit(limit)
    params: dict[str, Any] = {"limit": limit + 1}
    where = ""
    if cursor is not None:
        (params["after"],) = _decode_cursor(cursor, 1)
        where = "WHERE t.slug > :after"
    rows = (
        await conn.execute(
            text(
                "SELECT t.slug, t.title, t.description, t.region, t.version, t.recorded_at, "
                "greatest(t.last_position, a.last_position) AS last_position, "
                "coalesce(a.count, 0) AS assertion_count "
                "FROM projections.timelines t LEFT JOIN LATERAL ("
                "  SELECT count(*) AS count, max(last_position) AS last_position "
                "  FROM projections.assertions WHERE timeline = t.slug) a ON true "
                f"{where} ORDER BY t.slug LIMIT :limit"
            ),
            params,
        )
    ).all()
    page = [TimelineSummary(**row._mapping) for row in rows[:limit]]
    next_cursor = _encode_cursor(page[-1].slug) if len(rows) > limit else None
    return TimelineList(timelines=page, next_cursor=next_cursor)


_PAGE_ROW = "r.view, r.occurred_start, r.assertion_id"
_PAGE_ORDER = "ORDER BY r.occurred_start, r.assertion_id LIMIT :limit"


def _span_lookbacks(start: date) -> list[date]:
    """Per span class k (tables.SPAN_BOUNDS), the earliest start of a span of class k
    that can still reach `start`: start - (4^k - 1) days; the last class is open."""
    earliest = [
        date.fromordinal(max(1, start.toordinal() - (bound * 4 - 1))) for bound in SPAN_BOUNDS[:-1]
    ]
    return [*earliest, date.min]


def _overlapping(table: str, where: list[str], start: date, params: dict[str, Any]) -> str:
    """The rows that start before `start` and end on or after it, by span class: each
    class a range scan of its span index from its lookback date, in page order."""
    params["span_from"] = _span_lookbacks(start)
    terms = [
        *where,
        "r.occurred_end > r.occurred_start",
        f"{span_class('r')} = c.k",
        "r.occurred_start >= c.lo",
        "r.occurred_start < :occurred_from",
        "r.occurred_end >= :occurred_from",
    ]
    return (
        "SELECT b.* FROM unnest(CAST(:span_from AS date[])) WITH ORDINALITY c(lo, k) "
        f"CROSS JOIN LATERAL (SELECT {_PAGE_ROW} FROM {table} r "
        f"WHERE {' AND '.join(terms)} {_PAGE_ORDER}) b"
    )


def _driver(filters: TimelineFilters, params: dict[str, Any]) -> str | None:
    """The column a filtered page is read along, one range scan of its index per value
    asked for, so a rare kind or status does not walk the timeline to fill a page:
    `kind` when kinds are asked for, else `status`; None for neither."""
    column, values = ("kind", filters.kind) if filters.kind else ("status", filters.status)
    if not values:
        return None
    params["drive"] = sorted(set(values))
    return column


def _in_order(table: str, where: list[str], driver: str | None) -> str:
    """The rows of `where` in page order, up to the limit (per driving value, if any)."""
    if driver is None:
        return f"SELECT {_PAGE_ROW} FROM {table} r WHERE {' AND '.join(where)} {_PAGE_ORDER}"
    return (
        "SELECT d.* FROM unnest(CAST(:drive AS text[])) v(value) "
        f"CROSS JOIN LATERAL (SELECT {_PAGE_ROW} FROM {table} r "
        f"WHERE {' AND '.join(where)} AND r.{driver} = v.value {_PAGE_ORDER}) d"
    )


def _page_sql(
    temporal: Temporal,
    filters: TimelineFilters,
    after: list[str] | None,
    params: dict[str, Any],
) -> str:
    """A lateral subquery over the page, one past the limit: its stored views joined
    by commas (`views`), how many rows it found (`found`), and the keys of the last
    row of the page (`last_start`, `last_id`) for the next cursor.

    Every part is a range scan in page order that stops at the limit, so a page
    costs about the same however long the timeline is. With occurred_from F the
    rows are those that start in the window (from F on) and the few that started
    before F and overlap it (all of which come first in page order)."""
    table = "projections.assertions" if temporal.is_current else "projections.revisions"
    where = ["r.timeline = :slug"]
    if not temporal.is_current:
        where += _visible(temporal, params)
    if temporal.occurred_to is not None:
        params["occurred_to"] = temporal.occurred_to
        where.append("r.occurred_start <= :occurred_to")
    where += _filters(filters, params, "r")
    after_term: list[str] = []
    if after is not None:
        try:
            params["after_start"] = date.fromisoformat(after[0])
        except ValueError:
            raise InvalidPageCursor("not a page cursor of this list") from None
        params["after_id"] = after[1]
        after_term = ["(r.occurred_start, r.assertion_id) > (:after_start, :after_id)"]
    parts: list[str] = []
    start = temporal.occurred_from
    if start is None:
        bound = after_term
    else:
        params["occurred_from"] = start
        if after is not None and params["after_start"] >= start:
            # the cursor is inside the window: every row that started before it is behind
            bound = [*after_term, "r.occurred_end >= :occurred_from"]
        else:
            parts.append(_overlapping(table, where + after_term, start, params))
            bound = ["r.occurred_start >= :occurred_from", "r.occurred_end >= :occurred_from"]
    driver = _driver(filters, params)
    if driver is None and not parts:  # one range scan: the page itself
        ranked = (
            f"SELECT {_PAGE_ROW}, row_number() OVER (ORDER BY r.occurred_start, r.assertion_id) "
            f"AS n FROM {table} r WHERE {' AND '.join(where + bound)} {_PAGE_ORDER}"
        )
    else:
        parts.append(_in_order(table, where + bound, driver))
        union = " UNION ALL ".join(f"({part})" for part in parts)
        ranked = (
            "SELECT u.view, u.occurred_start, u.assertion_id, "
            "row_number() OVER (ORDER BY u.occurred_start, u.assertion_id) AS n "
            f"FROM ({union}) u ORDER BY u.occurred_start, u.assertion_id LIMIT :limit"
        )
    # The views are stored serialised (tables._state_columns): the page is their
    # text joined, with no JSON built or parsed on either side.
    return (
        "(SELECT string_agg(p.view, ',' ORDER BY p.n) FILTER (WHERE p.n <= :page_size) "
        "AS views, count(*) AS found, "
        "max(p.occurred_start) FILTER (WHERE p.n = :page_size) AS last_start, "
        "max(p.assertion_id) FILTER (WHERE p.n = :page_size) AS last_id "
        f"FROM ({ranked}) p)"
    )


# The timeline's own events as the store held them at recorded_at: [type, schema, data, position]
_HEAD_EVENTS = (
    "(SELECT json_agg(json_build_array(e.type, e.schema_version, e.data, e.position) "
    "ORDER BY e.version)::text FROM events e WHERE e.stream_type = 'timeline' "
    "AND e.stream_id = :slug AND e.recorded_at <= :recorded_at)"
)
_head_events_decoder = msgspec.json.Decoder(list[tuple[str, int, msgspec.Raw, int]])


def _head_at(head_events: str | None) -> _TimelineHead | None:
    """The timeline folded from its events held at recorded_at; None when it had none."""
    if head_events is None:
        return None
    decoded = _head_events_decoder.decode(head_events)
    events = (cast(TimelineEvent, decode_data(t, v, bytes(data))) for t, v, data, _ in decoded)
    state = timeline_domain.fold(events)
    if state is None:
        return None
    return _TimelineHead(
        slug=state.slug,
        title=state.title,
        description=state.description,
        region=state.region,
        version=state.version,
        last_position=max(position for *_, position in decoded),
    )


async def get_timeline_json(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal = NOW,
    filters: TimelineFilters = NO_FILTERS,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TimelinePageJson | None:
    """The timeline and a page of its assertions by occurred_start, as `temporal` asks,
    with the page's views as stored JSON (what the API serves, never decoded).

    One statement, so one round trip and one snapshot: the timeline row, the
    largest position on it, and the page's views. With recorded_at the timeline
    itself is folded from its events held then. None when the timeline does not
    exist (or did not, at recorded_at). An assertion absent at known_at (first
    reported later) is not listed. Raises InvalidPageCursor for a cursor this
    read did not hand out.
    """
    limit = _limit(limit)
    after = None
    if cursor is not None:
        # The cursor names its timeline, so one handed out for another is refused, not
        # silently applied here as a position it never was.
        *after, of = _decode_cursor(cursor, 3)
        if of != slug:
            raise InvalidPageCursor(f"a cursor of another timeline's pages, not of {slug!r}")
    params: dict[str, Any] = {"slug": slug, "limit": limit + 1, "page_size": limit}
    page = _page_sql(temporal, filters, after, params)
    if temporal.recorded_at is None:
        sql = (
            "SELECT t.slug, t.title, t.description, t.region, t.version, "
            "greatest(t.last_position, (SELECT max(a.last_position) FROM projections.assertions a "
            "WHERE a.timeline = :slug)) AS last_position, NULL AS head_events, pg.* "
            f"FROM projections.timelines t CROSS JOIN LATERAL {page} pg WHERE t.slug = :slug"
        )
    else:
        params["recorded_at"] = temporal.recorded_at
        sql = (
            "SELECT t.slug, '' AS title, '' AS description, '' AS region, 0 AS version, "
            "(SELECT max(v.position) FROM projections.revisions v WHERE v.timeline = :slug "
            "AND v.recorded_from <= :recorded_at) AS last_position, "
            f"{_HEAD_EVENTS} AS head_events, pg.* "
            f"FROM projections.timelines t CROSS JOIN LATERAL {page} pg WHERE t.slug = :slug"
        )
    row = (await conn.execute(_sql(sql, _literal_names(filters, params)), params)).first()
    if row is None:
        return None
    if temporal.recorded_at is None:
        head: _TimelineHead | None = _TimelineHead(
            slug=row.slug,
            title=row.title,
            description=row.description,
            region=row.region,
            version=row.version,
            last_position=row.last_position,
        )
    else:
        head = _head_at(row.head_events)
    if head is None:
        return None
    next_cursor = None
    if row.found > limit:
        next_cursor = _encode_cursor(row.last_start.isoformat(), row.last_id, head.slug)
    return TimelinePageJson(
        slug=head.slug,
        title=head.title,
        description=head.description,
        region=head.region,
        version=head.version,
        assertions=msgspec.Raw(f"[{row.views or ''}]"),
        next_cursor=next_cursor,
        last_position=max(head.last_position, row.last_position or 0),
    )


async def get_timeline(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal = NOW,
    filters: TimelineFilters = NO_FILTERS,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TimelinePage | None:
    """get_timeline_json with the views decoded: the same page, as structs."""
    page = await get_timeline_json(conn, slug, temporal, filters, cursor=cursor, limit=limit)
    if page is None:
        return None
    fields = msgspec.structs.asdict(page)
    fields["assertions"] = decode_views(page.assertions)
    return TimelinePage(**fields)


# -- assertions ---------------------------------------------------------------


async def get_assertion(
    conn: AsyncConnection, assertion_id: str, temporal: Temporal = NOW
) -> AssertionView | None:
    """The assertion as `temporal` asks; None when absent at that knowledge / system time."""
    params: dict[str, Any] = {"id": assertion_id}
    table = "projections.assertions" if temporal.is_current else "projections.revisions"
    where = ["r.assertion_id = :id"]
    if not temporal.is_current:
        where += _visible(temporal, params)
    where += _occurred_window(temporal, params, "r")
    row = (
        await conn.execute(
            _sql(f"SELECT r.view FROM {table} r WHERE {' AND '.join(where)}"),
            params,
        )
    ).first()
    return None if row is None else assertion_view_of_row(row)


_REVISION_COLUMNS = (
    "r.assertion_id, r.version, r.event_type, r.reported_at, r.event_recorded_at, "
    "r.changes::text AS changes, r.reason, r.citations::text AS citations, "
    "r.view, r.last_position, r.known_from, r.known_to, "
    "r.known_cut_at"
)
# knowledge order: the recording first, then (reported_at, version)
_KNOWLEDGE_ORDER = "(r.event_type <> 'AssertionRecorded'), r.reported_at, r.version"


def _rows_at(temporal: Temporal, params: dict[str, Any]) -> list[str]:
    """The revision rows the store held (at recorded_at), reported by known_at."""
    where: list[str] = []
    if temporal.recorded_at is None:
        where.append("r.recorded_to IS NULL")
    else:
        params["recorded_at"] = temporal.recorded_at
        where.append(
            "r.recorded_from <= :recorded_at "
            "AND (r.recorded_to IS NULL OR r.recorded_to > :recorded_at)"
        )
    if temporal.known_at is not None:
        params["known_at"] = temporal.known_at
        where.append("r.known_from <= :known_at")
    return where


def _known_to(row: Any, temporal: Temporal) -> datetime | None:
    """The end of a row's knowledge interval as seen from `temporal` (None: still open)."""
    known_to: datetime | None = row.known_to
    if known_to is None:
        return None
    if temporal.recorded_at is not None and (
        row.known_cut_at is not None and row.known_cut_at > temporal.recorded_at
    ):
        return None
    if temporal.known_at is not None and known_to > temporal.known_at:
        return None
    return known_to


async def get_history(
    conn: AsyncConnection, assertion_id: str, temporal: Temporal = NOW
) -> HistoryView | None:
    """Every version in knowledge order with its diffs; None when absent at `temporal`."""
    params: dict[str, Any] = {"id": assertion_id}
    where = ["r.assertion_id = :id", *_rows_at(temporal, params)]
    rows = (
        await conn.execute(
            text(
                f"SELECT {_REVISION_COLUMNS} FROM projections.revisions r "
                f"WHERE {' AND '.join(where)} ORDER BY {_KNOWLEDGE_ORDER}"
            ),
            params,
        )
    ).all()
    if not rows:
        return None
    revisions = [
        RevisionView(
            version=row.version,
            event_type=row.event_type,
            reported_at=row.reported_at,
            recorded_at=row.event_recorded_at,
            changes=changes_of_row(row.changes),
            reason=row.reason,
            citations=citations_of_row(row.citations),
            state=assertion_view_of_row(row),
            known_from=row.known_from,
            known_to=_known_to(row, temporal),
        )
        for row in rows
    ]
    return HistoryView(
        assertion_id=assertion_id,
        revisions=revisions,
        last_position=max(row.last_position for row in rows),
    )


_CHANGE_LISTS = {
    "AssertionRecorded": "added",
    "AssertionRevised": "revised",
    "StanceRecorded": "stances",
    "AssertionRetracted": "retracted",
    "CitedSourceWithdrawn": "unsupported",
}


async def get_changes(
    conn: AsyncConnection,
    slug: str,
    since: datetime,
    until: datetime,
    temporal: Temporal = NOW,
) -> ChangesView | None:
    """What changed in knowledge on a timeline with since < reported_at <= until.

    Withdrawals of a cited source list under `unsupported` when they left the
    assertion with no live source, and under `revised` otherwise. None when the
    timeline does not exist.
    """
    if await _timeline_head(conn, slug, temporal.recorded_at) is None:
        return None
    params: dict[str, Any] = {"slug": slug, "since": since, "until": until}
    where = [
        "r.timeline = :slug",
        "r.reported_at > :since",
        "r.reported_at <= :until",
        *_rows_at(temporal, params),
        *_occurred_window(temporal, params, "r"),
    ]
    if temporal.known_at is not None:
        where.append("r.reported_at <= :known_at")
    rows = (
        await conn.execute(
            text(
                f"SELECT {_REVISION_COLUMNS} FROM projections.revisions r "
                f"WHERE {' AND '.join(where)} ORDER BY r.reported_at, r.assertion_id, r.version"
            ),
            params,
        )
    ).all()
    lists: dict[str, list[ChangedAssertion]] = {name: [] for name in _CHANGE_LISTS.values()}
    for row in rows:
        state = assertion_view_of_row(row)
        name = _CHANGE_LISTS.get(row.event_type, "revised")
        if name == "unsupported" and state.status != "unsupported":
            name = "revised"
        lists[name].append(
            ChangedAssertion(
                assertion_id=row.assertion_id,
                version=row.version,
                event_type=row.event_type,
                reported_at=row.reported_at,
                recorded_at=row.event_recorded_at,
                changes=changes_of_row(row.changes),
                reason=row.reason,
                state=state,
            )
        )
    return ChangesView(timeline=slug, since=since, until=until, **lists)


# -- sources ------------------------------------------------------------------


_SOURCE_COLUMNS = (
    "source_id AS id, publisher, title, url, published_at, published_at_note, language, via, "
    "credits, status, withdrawn_at, withdrawal_reason, version, recorded_at, last_position"
)


async def get_source(
    conn: AsyncConnection, source_id: str, temporal: Temporal = NOW
) -> SourceView | None:
    """The source as `temporal` asks.

    With known_at, a source published after it is absent and a withdrawal
    after it is not shown; with recorded_at, the source's stream is folded.
    """
    if temporal.is_current:
        row = (
            await conn.execute(
                text(f"SELECT {_SOURCE_COLUMNS} FROM projections.sources WHERE source_id = :id"),
                {"id": source_id},
            )
        ).first()
        return None if row is None else SourceView(**row._mapping)
    recorded = await read_stream(
        conn, StreamRef("source", source_id), recorded_at=temporal.recorded_at
    )
    state = source_domain.fold(cast(SourceEvent, r.event) for r in recorded)
    if state is None:
        return None
    withdrawn = state.withdrawn
    known_at = temporal.known_at
    if known_at is not None:
        if state.published_at is not None and state.published_at > known_at:
            return None
        withdrawn = withdrawn and state.withdrawn_at is not None and state.withdrawn_at <= known_at
    return source_view(
        state,
        recorded_at=max(r.recorded_at for r in recorded),
        last_position=max(r.position for r in recorded),
        withdrawn=withdrawn,
    )
