"""Keyset pages: the cursors every list hands out, and the page of a timeline's assertions.

A timeline page is one statement over the current rows (`assertions`) or the
revision rows (`revisions`, with the terms of visibility.py), in page order
(occurred_start, assertion_id), each part a range scan of an index that stops
at the limit, so a page costs about the same however long the timeline is.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import Integer, Text
from sqlalchemy.types import TypeEngine

from timeline.projections import visibility
from timeline.projections.assertions import assertions, revisions
from timeline.projections.indexes import ACTOR_KEYS, SPAN_BOUNDS, span_class
from timeline.projections.schema import Literal, name
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.views import InvalidPageCursor

MAX_LIMIT = 500


def limited(limit: int) -> int:
    """A page size within 1..MAX_LIMIT."""
    return max(1, min(limit, MAX_LIMIT))


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(["p1", *parts])).rstrip(b"=").decode()


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The `size` parts of a cursor that encode_cursor made, or InvalidPageCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = msgspec.json.decode(raw, type=list[str])
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise InvalidPageCursor("not a page cursor of this list") from None
    if len(parts) != size + 1 or parts[0] != "p1":
        raise InvalidPageCursor("not a page cursor of this list")
    return parts[1:]


# Written into a filtered page's statement as literals (below), with their types.
_LITERAL: dict[str, type[TypeEngine[Any]]] = {
    "slug": Text,
    "actor": Text,
    "place": Text,
    "q": Text,
    "limit": Integer,
    "page_size": Integer,
}


def literal_names(filters: TimelineFilters, params: dict[str, Any]) -> tuple[Literal, ...]:
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
    names = tuple((key, type_) for key, type_ in _LITERAL.items() if key in params)
    if any(isinstance(params[key], str) and "\x00" in params[key] for key, _ in names):
        return ()
    return names


def _filters(filters: TimelineFilters, params: dict[str, Any]) -> list[str]:
    where = []
    if filters.kind:
        params["kinds"] = list(filters.kind)
        where.append("r.kind = ANY(:kinds)")
    if filters.status:
        params["statuses"] = list(filters.status)
        where.append("r.status = ANY(:statuses)")
    if filters.actor:
        # one key of the timeline's actor index (migration 0006): on the rows of
        # timeline :slug it holds exactly when an actor equals :actor, ignoring case
        params["actor"] = filters.actor
        where.append(
            f"{ACTOR_KEYS}(r.timeline, r.actors) "
            "@> ARRAY[CAST(:slug AS text) || chr(31) || lower(:actor)]"
        )
    if filters.place:
        escaped = filters.place.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["place"] = f"%{escaped}%"
        where.append("r.place_name ILIKE :place")
    if filters.q:
        params["q"] = filters.q
        where.append("r.search @@ websearch_to_tsquery('english', :q)")
    return where


_PAGE_ROW = "r.view, r.occurred_start, r.assertion_id"
_PAGE_ORDER = "ORDER BY r.occurred_start, r.assertion_id LIMIT :limit"


def _span_lookbacks(start: date) -> list[date]:
    """Per span class k (indexes.SPAN_BOUNDS), the earliest start of a span of class k
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


def page_sql(
    temporal: Temporal,
    filters: TimelineFilters,
    after: list[str] | None,
    params: dict[str, Any],
) -> str:
    """A lateral subquery over the page of timeline :slug, one past the limit: its
    stored views joined by commas (`views`), how many rows it found (`found`), and
    the keys of the last row of the page (`last_start`, `last_id`) for the next cursor.

    With occurred_from F the rows are those that start in the window (from F on)
    and the few that started before F and overlap it (all of which come first in
    page order)."""
    table = name(assertions if temporal.is_current else revisions)
    where = ["r.timeline = :slug"]
    if not temporal.is_current:
        where += visibility.visible(temporal, params)
    if temporal.occurred_to is not None:
        params["occurred_to"] = temporal.occurred_to
        where.append("r.occurred_start <= :occurred_to")
    where += _filters(filters, params)
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
    # The views are stored serialised (assertions.state_columns): the page is their
    # text joined, with no JSON built or parsed on either side.
    return (
        "(SELECT string_agg(p.view, ',' ORDER BY p.n) FILTER (WHERE p.n <= :page_size) "
        "AS views, count(*) AS found, "
        "max(p.occurred_start) FILTER (WHERE p.n = :page_size) AS last_start, "
        "max(p.assertion_id) FILTER (WHERE p.n = :page_size) AS last_id "
        f"FROM ({ranked}) p)"
    )


def next_cursor(row: Any, limit: int, slug: str) -> str | None:
    """The cursor after a page_sql row's page of timeline `slug`; None when it was the last."""
    if row.found <= limit:
        return None
    return encode_cursor(row.last_start.isoformat(), row.last_id, slug)


def page_cursor(cursor: str, slug: str) -> list[str]:
    """The keys (occurred_start, assertion_id) of a cursor next_cursor made for `slug`.

    The cursor names its timeline, so one handed out for another is refused, not
    silently applied here as a position it never was.
    """
    *after, of = decode_cursor(cursor, 3)
    if of != slug:
        raise InvalidPageCursor(f"a cursor of another timeline's pages, not of {slug!r}")
    return after
