"""The timelines read model: one row per timeline, and the reads of a timeline.

A timeline's page is its head (title, description, region, version: from its
row, or at recorded_at folded from its own events) and a page of its
assertions (pages.py), read in one statement: one round trip, one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Column, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import TimelineEvent
from timeline.domain.timelines import Timeline, fold
from timeline.projections import pages, visibility
from timeline.projections.assertions import assertions, change_of_row, revision_rows, revisions
from timeline.projections.schema import SCHEMA, folded_columns, folded_values, name, statement
from timeline.projections.temporal import NO_FILTERS, NOW, Temporal, TimelineFilters
from timeline.projections.views import (
    ChangedAssertion,
    ChangesView,
    TimelineFields,
    TimelineList,
    TimelinePage,
    TimelineSummary,
)
from timeline.store.append import StreamRef
from timeline.store.codec import decode_data
from timeline.store.read import read_stream
from timeline.store.tables import metadata

timelines = Table(
    "timelines",
    metadata,
    Column("slug", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("region", Text, nullable=False),
    *folded_columns(),
    schema=SCHEMA,
)

# -- the row of a folded state ---------------------------------------------------


def timeline_row(state: Timeline, *, recorded_at: datetime, last_position: int) -> dict[str, Any]:
    """A timeline's row for its folded state (the write path plans it; bulk writes send it)."""
    return {
        "slug": state.slug,
        "title": state.title,
        "description": state.description,
        "region": state.region,
        **folded_values(state.version, recorded_at, last_position),
    }


# -- the head -------------------------------------------------------------------


class TimelineHead(TimelineFields, kw_only=True):
    last_position: int


_HEAD = tuple(f.name for f in msgspec.structs.fields(TimelineFields))


def _head_of(events: Iterable[TimelineEvent], positions: Iterable[int]) -> TimelineHead | None:
    """The head folded from a timeline's events (None when they do not open it)."""
    state = fold(events)
    if state is None:
        return None
    return TimelineHead(**{f: getattr(state, f) for f in _HEAD}, last_position=max(positions))


async def _head(conn: AsyncConnection, slug: str, recorded_at: datetime | None) -> bool:
    """Whether the timeline exists (existed, at recorded_at)."""
    if recorded_at is None:
        query = select(timelines.c.slug).where(timelines.c.slug == slug)
        return (await conn.execute(query)).first() is not None
    recorded = await read_stream(conn, StreamRef("timeline", slug), recorded_at=recorded_at)
    heads = (cast(TimelineEvent, r.event) for r in recorded)
    return _head_of(heads, (r.position for r in recorded)) is not None


# The head's columns of the page statement: from the timeline's row now, else the
# timeline's own events as the store held them at recorded_at ([type, schema,
# data, position]) and the largest position on it then.
_HEAD_NOW = (
    "SELECT t.slug, t.title, t.description, t.region, t.version, "
    f"greatest(t.last_position, (SELECT max(a.last_position) FROM {name(assertions)} a "
    "WHERE a.timeline = :slug)) AS last_position, NULL AS head_events"
)
_HEAD_AT = (
    "SELECT t.slug, '' AS title, '' AS description, '' AS region, 0 AS version, "
    f"(SELECT max(v.position) FROM {name(revisions)} v WHERE v.timeline = :slug "
    "AND v.recorded_from <= :recorded_at) AS last_position, "
    "(SELECT json_agg(json_build_array(e.type, e.schema_version, e.data, e.position) "
    "ORDER BY e.version)::text FROM events e WHERE e.stream_type = 'timeline' "
    "AND e.stream_id = :slug AND e.recorded_at <= :recorded_at) AS head_events"
)
_head_events = msgspec.json.Decoder(list[tuple[str, int, msgspec.Raw, int]])


def _head_of_row(row: Any, temporal: Temporal) -> TimelineHead | None:
    """The head of a page statement's row (None: no timeline at recorded_at)."""
    if temporal.recorded_at is None:
        return TimelineHead(**{f: getattr(row, f) for f in (*_HEAD, "last_position")})
    if row.head_events is None:
        return None
    decoded = _head_events.decode(row.head_events)
    events = (cast(TimelineEvent, decode_data(t, v, bytes(data))) for t, v, data, _ in decoded)
    head = _head_of(events, (position for *_, position in decoded))
    if head is not None:
        head.last_position = max(head.last_position, row.last_position or 0)
    return head


# -- reads ----------------------------------------------------------------------


async def list_timelines(
    conn: AsyncConnection, *, cursor: str | None = None, limit: int = 50
) -> TimelineList:
    """Every timeline by slug, a page at a time."""
    limit = pages.limited(limit)
    params: dict[str, Any] = {"limit": limit + 1}
    where = ""
    if cursor is not None:
        (params["after"],) = pages.decode_cursor(cursor, 1)
        where = "WHERE t.slug > :after"
    sql = (
        "SELECT t.slug, t.title, t.description, t.region, t.version, t.recorded_at, "
        "greatest(t.last_position, a.last_position) AS last_position, "
        "coalesce(a.count, 0) AS assertion_count "
        f"FROM {name(timelines)} t LEFT JOIN LATERAL ("
        "  SELECT count(*) AS count, max(last_position) AS last_position "
        f"  FROM {name(assertions)} WHERE timeline = t.slug) a ON true "
        f"{where} ORDER BY t.slug LIMIT :limit"
    )
    rows = (await conn.execute(statement(sql), params)).all()
    page = [TimelineSummary(**row._mapping) for row in rows[:limit]]
    next_cursor = pages.encode_cursor(page[-1].slug) if len(rows) > limit else None
    return TimelineList(timelines=page, next_cursor=next_cursor)


async def get_timeline_json(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal = NOW,
    filters: TimelineFilters = NO_FILTERS,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> msgspec.Raw | None:
    """The JSON of the TimelinePage that `temporal` asks for: the timeline and a page
    of its assertions by occurred_start, the page's views as they are stored (what
    the API serves, never decoded).

    None when the timeline does not exist (or did not, at recorded_at). An
    assertion absent at known_at (first reported later) is not listed. Raises
    InvalidPageCursor for a cursor this read did not hand out.
    """
    limit = pages.limited(limit)
    after = None if cursor is None else pages.page_cursor(cursor, slug)
    params: dict[str, Any] = {"slug": slug, "limit": limit + 1, "page_size": limit}
    page = pages.page_sql(temporal, filters, after, params)
    head_sql = _HEAD_NOW
    if temporal.recorded_at is not None:
        params["recorded_at"] = temporal.recorded_at
        head_sql = _HEAD_AT
    sql = f"{head_sql}, pg.* FROM {name(timelines)} t CROSS JOIN LATERAL {page} pg "
    sql += "WHERE t.slug = :slug"
    row = (await conn.execute(statement(sql, pages.literal_names(filters, params)), params)).first()
    if row is None or (head := _head_of_row(row, temporal)) is None:
        return None
    values = {
        **msgspec.structs.asdict(head),
        "assertions": msgspec.Raw(f"[{row.views or ''}]"),
        "next_cursor": pages.next_cursor(row, limit, slug),
    }
    # In TimelinePage's own field order, so the bytes are that page's JSON.
    return msgspec.Raw(_encoder.encode({f: values[f] for f in _PAGE_FIELDS}))


_encoder = msgspec.json.Encoder()
_PAGE_FIELDS = tuple(f.name for f in msgspec.structs.fields(TimelinePage))
_page_decoder = msgspec.json.Decoder(TimelinePage)


async def get_timeline(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal = NOW,
    filters: TimelineFilters = NO_FILTERS,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TimelinePage | None:
    """get_timeline_json's page, decoded (exports, the viewer, tests)."""
    raw = await get_timeline_json(conn, slug, temporal, filters, cursor=cursor, limit=limit)
    return None if raw is None else _page_decoder.decode(raw)


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
    if not await _head(conn, slug, temporal.recorded_at):
        return None
    params: dict[str, Any] = {"slug": slug, "since": since, "until": until}
    where = [
        "r.timeline = :slug",
        "r.reported_at > :since",
        "r.reported_at <= :until",
        *visibility.held(temporal, params),
        *visibility.occurred_window(temporal, params),
    ]
    if temporal.known_at is not None:
        where.append("r.reported_at <= :known_at")
    order = "r.reported_at, r.assertion_id, r.version"
    rows = (await conn.execute(revision_rows(where, order), params)).all()
    lists: dict[str, list[ChangedAssertion]] = {key: [] for key in _CHANGE_LISTS.values()}
    for row in rows:
        change = ChangedAssertion(assertion_id=row.assertion_id, **change_of_row(row))
        kind = _CHANGE_LISTS.get(row.event_type, "revised")
        if kind == "unsupported" and change.state.status != "unsupported":
            kind = "revised"
        lists[kind].append(change)
    return ChangesView(timeline=slug, since=since, until=until, **lists)
