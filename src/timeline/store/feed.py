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
these events, so the horizon (the SQL function `timeline_feed_horizon()`,
migration 0012) skips a running transaction that the server's activity list
shows connected to another database; any other (this database's, a prepared
one, one whose owner we may not see, or one that has just ended) still holds
the feed back, so the test errs only towards waiting.

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

from timeline.store.cursor import cursor_encoder, decode_cursor, encode_cursor
from timeline.store.db import fetch

MAX_LIMIT = 1000

# The first transaction id that may still be running here: events below it are settled.
# One definition, an SQL function (migration 0012, sql/timeline_feed_horizon.v1.sql),
# read by the feed, the hub and the rebuild alike. On a hot standby it is the
# snapshot's xmin (pg_current_snapshot() lists no running transaction there).
HORIZON = "timeline_feed_horizon()"

# Every statement here orders by `events.tx_id, events.position`, qualified: a bare
# `tx_id` in ORDER BY names the output column when the select list has one of that
# name (`tx_id::text::bigint` is called tx_id), and no index orders by that
# expression, so the plan was a sort of the whole table (a parallel sequential scan,
# 135 ms at 300,000 events). Qualified, each is a short walk of events_feed_idx.

# The newest settled event: (tx_id, position), or no row when there is none.
FEED_END = (
    "SELECT tx_id::text::bigint AS tx_id, position FROM events "
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
    "SELECT e.tx AS tx_id, e.pos AS position, (SELECT true FROM events WHERE tx_id >= hz.h "
    "ORDER BY events.tx_id LIMIT 1) IS NOT NULL AS held "
    f"FROM (SELECT {HORIZON} AS h) AS hz "
    "LEFT JOIN LATERAL (SELECT tx_id::text::bigint AS tx, position AS pos FROM events "
    "WHERE tx_id < hz.h ORDER BY events.tx_id DESC, events.position DESC LIMIT 1) AS e ON true"
)


async def store_id(conn: AsyncConnection) -> str:
    """This store's id, made at migration; it prefixes every cursor."""
    value = await conn.scalar(text("SELECT store_id::text FROM store_meta LIMIT 1"))
    assert value is not None, "store_meta is empty: run `timeline migrate`"
    return str(value)


# The columns of an events row as the feed reads them: each row is an asyncpg Record
# whose fields are read by these names (`row["type"]`), `data` and `metadata` as JSON text.
ROW_COLUMNS = (
    "tx_id::text::bigint AS tx_id, position, stream_type, stream_id, version, type, "
    "schema_version, data::text AS data, metadata::text AS metadata, timeline, reported_at, "
    "recorded_at"
)


class FeedRows(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the feed as driver rows: asyncpg Records of the columns asked for."""

    rows: list[Any]
    cursors: list[str]
    next_cursor: str
    at_horizon: bool


@lru_cache(maxsize=32)
def _feed_rows_sql(
    types: bool, stream_type: bool, stream_id: bool, timeline: bool, columns: str = ROW_COLUMNS
) -> str:
    # asyncpg's positional parameters: $1-$3 are the cursor and limit, then one number
    # for each filter present, in this order.
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
    cursor_column: str | None = None,
) -> FeedRows:
    """The events after cursor `after` (None: from the start), in feed order, undecoded.

    The one reader of the feed, for every reader (the HTTP page, the live hub,
    a stream catching up, `events tail`): one statement on the driver
    connection, no SQLAlchemy row or domain struct per event. `columns` may
    select other expressions of an events row, as long as they include
    `tx_id` and `position` as ROW_COLUMNS names them; when one of them is the
    row's cursor (cursor_sql), name its column `cursor_column`.
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
        cursors = [encode(row["tx_id"], row["position"]) for row in rows]
    else:
        cursors = [row[cursor_column] for row in rows]
    next_cursor = cursors[-1] if cursors else (after or encode_cursor(store, 0, 0))
    return FeedRows(
        rows=rows, cursors=cursors, next_cursor=next_cursor, at_horizon=len(rows) < limit
    )
