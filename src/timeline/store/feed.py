"""The global feed: every committed event exactly once, in a stable order.

Positions come from a sequence and transactions commit out of sequence order,
so "position > P" can skip an event that commits later with a smaller
position. Instead the feed orders by (writing transaction id, position) and
serves only transactions older than the oldest one still running
(`pg_snapshot_xmin`): every such transaction has ended, so nothing can appear
behind a reader's cursor. Writers take no lock for this; a long-running
transaction only delays the feed until it ends.

Transaction ids are the cluster's, so the snapshot's running transactions
include those of every database on the server. Only this database's can write
these events, so HORIZON skips a running transaction that the server's
activity list shows connected to another database; any other (this database's,
a prepared one, one whose owner we may not see, or one that has just ended) still
holds the feed back, so the test errs only towards waiting.

On a streaming standby the same reads keep the same promise (tests/replica): the
horizon is then the standby's snapshot xmin, and WAL replay makes the standby's
events a prefix of the primary's history, so a cursor from either server is good
on the other; a standby that lags serves the same order, later.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import asyncpg
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.codec import RecordedEvent
from timeline.store.cursor import cursor_encoder, decode_cursor, encode_cursor
from timeline.store.db import fetch
from timeline.store.read import COLUMNS, row_to_recorded

MAX_LIMIT = 1000

# The first transaction id that may still be running here: events below it are settled.
# On a hot standby, pg_current_snapshot() lists no running transaction at all (recovery
# keeps them apart, in the snapshot's subtransaction array, which pg_snapshot omits), so
# there the horizon is the snapshot's xmin: the oldest transaction the primary's WAL
# shows still running (the standby counts every unseen lower id as running, too).
HORIZON = (
    "(SELECT CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(snap.s) ELSE coalesce(("
    "SELECT min(x) FROM pg_snapshot_xip(snap.s) AS x WHERE NOT EXISTS ("
    "SELECT 1 FROM pg_stat_get_activity(NULL) AS a WHERE a.backend_xid = x::xid "
    "AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))"
    "), pg_snapshot_xmax(snap.s)) END FROM (SELECT pg_current_snapshot() AS s) AS snap)"
)

# Every statement here orders by `events.tx_id, events.position`, qualified: a bare
# `tx_id` in ORDER BY names the output column when the select list has one of that
# name (`tx_id::text::bigint` is called tx_id), and no index orders by that
# expression, so the plan was a sort of the whole table (a parallel sequential scan,
# 135 ms at 300,000 events). Qualified, each is a short walk of events_feed_idx.

# The newest settled event: (tx_id, position), or no row when there is none.
FEED_END = (
    "SELECT tx_id::text::bigint, position FROM events "
    f"WHERE tx_id < {HORIZON} "
    "ORDER BY events.tx_id DESC, events.position DESC LIMIT 1"
)

# A row when any committed event lies past ($1 tx_id as text, $2 position). ORDER BY and
# LIMIT rather than EXISTS: the planner drops an EXISTS subquery's order, and its
# sequential scan then read the table from the start before it met the newest rows.
FEED_BEYOND = (
    "SELECT 1 FROM events "
    "WHERE (tx_id, position) > (CAST(CAST($1 AS text) AS xid8), $2) "
    "ORDER BY events.tx_id, events.position LIMIT 1"
)

# FEED_END and, in the same statement, whether committed events wait at or past the
# horizon (held back by an open transaction): (tx_id, position, held), tx_id and
# position NULL when nothing is settled. One round trip, two short index walks.
FEED_END_AND_HELD = (
    "SELECT e.tx, e.pos, (SELECT true FROM events WHERE tx_id >= hz.h "
    "ORDER BY events.tx_id LIMIT 1) IS NOT NULL "
    f"FROM (SELECT {HORIZON} AS h) AS hz "
    "LEFT JOIN LATERAL (SELECT tx_id::text::bigint AS tx, position AS pos FROM events "
    "WHERE tx_id < hz.h ORDER BY events.tx_id DESC, events.position DESC LIMIT 1) AS e ON true"
)


class FeedEntry(msgspec.Struct, frozen=True):
    cursor: str
    recorded: RecordedEvent


class FeedPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the feed; `next_cursor` is where the next read starts."""

    entries: list[FeedEntry]
    next_cursor: str
    # True when the page reached the visibility horizon (nothing more to read now).
    at_horizon: bool


@lru_cache(maxsize=1)
def _feed_sql(
    types: bool, stream_type: bool, stream_id: bool, timeline: bool
) -> object:  # a TextClause, cached per filter combination
    where = [
        "(tx_id, position) > (CAST(CAST(:tx AS text) AS xid8), :pos)",
        f"tx_id < {HORIZON}",
    ]
    if types:
        where.append("type = ANY(:types)")
    if stream_type:
        where.append("stream_type = :stream_type")
    if stream_id:
        where.append("stream_id = :stream_id")
    if timeline:
        where.append("timeline = :timeline")
    return text(
        f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} "
        "ORDER BY events.tx_id, events.position LIMIT :limit"
    )


async def store_id(conn: AsyncConnection) -> str:
    """This store's id, made at migration; it prefixes every cursor."""
    value = await conn.scalar(text("SELECT store_id::text FROM store_meta LIMIT 1"))
    assert value is not None, "store_meta is empty: run `timeline migrate`"
    return str(value)


async def read_feed(
    conn: AsyncConnection,
    store: str,
    after: str | None = None,
    limit: int = 100,
    *,
    types: Sequence[str] = (),
    stream_type: str | None = None,
    stream_id: str | None = None,
    timeline: str | None = None,
) -> FeedPage:
    """The events after cursor `after` (None: from the start), in feed order."""
    limit = max(1, min(limit, MAX_LIMIT))
    tx, pos = decode_cursor(store, after) if after else (0, 0)
    sql = _feed_sql(
        bool(types), stream_type is not None, stream_id is not None, timeline is not None
    )
    params = {
        "tx": str(tx),
        "pos": pos,
        "limit": limit,
        "types": list(types),
        "stream_type": stream_type,
        "stream_id": stream_id,
        "timeline": timeline,
    }
    rows = (await conn.execute(sql, params)).all()  # type: ignore[call-overload]
    entries = [
        FeedEntry(encode_cursor(store, int(row.tx_id), row.position), row_to_recorded(row))
        for row in rows
    ]
    next_cursor = entries[-1].cursor if entries else (after or encode_cursor(store, 0, 0))
    return FeedPage(entries=entries, next_cursor=next_cursor, at_horizon=len(entries) < limit)


# The columns of read_feed_rows, by index: the feed's fast path reads them positionally.
ROW_COLUMNS = (
    "tx_id::text::bigint, position, stream_type, stream_id, version, type, schema_version, "
    "data::text, metadata::text, timeline, reported_at, recorded_at"
)
TX, POSITION, STREAM_TYPE, STREAM_ID, VERSION, TYPE, SCHEMA_VERSION = range(7)
DATA, METADATA, TIMELINE, REPORTED_AT, RECORDED_AT = range(7, 12)


class FeedRows(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the feed as driver rows (ROW_COLUMNS), `data` and `metadata` as JSON text."""

    rows: list[Any]  # asyncpg Records, indexed by the constants above
    cursors: list[str]
    next_cursor: str
    at_horizon: bool


@lru_cache(maxsize=32)
def _feed_rows_sql(
    types: bool, stream_type: bool, stream_id: bool, timeline: bool, columns: str = ROW_COLUMNS
) -> str:
    # The same WHERE as _feed_sql, with asyncpg's positional parameters: $1-$3 are the
    # cursor and limit, then one number for each filter present, in this order.
    where = [
        "(tx_id, position) > (CAST(CAST($1 AS text) AS xid8), $2)",
        f"tx_id < {HORIZON}",
    ]
    wanted = [
        (types, "type = ANY(${}::text[])"),
        (stream_type, "stream_type = ${}"),
        (stream_id, "stream_id = ${}"),
        (timeline, "timeline = ${}"),
    ]
    for number, clause in enumerate((c for present, c in wanted if present), start=4):
        where.append(clause.format(number))
    return (
        f"SELECT {columns} FROM events WHERE {' AND '.join(where)} "
        "ORDER BY events.tx_id, events.position LIMIT $3"
    )


async def read_feed_rows(
    conn: AsyncConnection | asyncpg.Connection,
    store: str,
    after: str | None = None,
    limit: int = 100,
    *,
    types: Sequence[str] = (),
    stream_type: str | None = None,
    stream_id: str | None = None,
    timeline: str | None = None,
    columns: str = ROW_COLUMNS,
    cursor_column: int | None = None,
) -> FeedRows:
    """read_feed without decoding events: one statement on the driver connection, in autocommit.

    For readers that pass `data` through (the HTTP feed): no SQLAlchemy row or
    domain struct per event. Same order, horizon and filters as read_feed.
    `columns` may select other expressions of an events row, as long as the
    first two are ROW_COLUMNS' first two (the transaction id and position);
    when one of them is the row's cursor (cursor_sql), name it `cursor_column`.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    tx, pos = decode_cursor(store, after) if after else (0, 0)
    sql = _feed_rows_sql(
        bool(types), stream_type is not None, stream_id is not None, timeline is not None, columns
    )
    args: list[Any] = [str(tx), pos, limit]
    for value in (list(types) if types else None, stream_type, stream_id, timeline):
        if value is not None:
            args.append(value)
    if isinstance(conn, asyncpg.Connection):  # a reader's own connection (the feed's hub)
        rows = await conn.fetch(sql, *args)
    else:
        rows = await fetch(conn, sql, *args)
    if cursor_column is None:
        encode = cursor_encoder(store)
        cursors = [encode(row[TX], row[POSITION]) for row in rows]
    else:
        cursors = [row[cursor_column] for row in rows]
    next_cursor = cursors[-1] if cursors else (after or encode_cursor(store, 0, 0))
    return FeedRows(
        rows=rows, cursors=cursors, next_cursor=next_cursor, at_horizon=len(rows) < limit
    )
