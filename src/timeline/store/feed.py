"""The global feed: every committed event exactly once, in a stable order.

Positions come from a sequence and transactions commit out of sequence order,
so "position > P" can skip an event that commits later with a smaller
position. Instead the feed orders by (writing transaction id, position) and
serves only transactions older than the oldest one still running
(`pg_snapshot_xmin`): every such transaction has ended, so nothing can appear
behind a reader's cursor. Writers take no lock for this; a long-running
transaction only delays the feed until it ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.codec import RecordedEvent
from timeline.store.cursor import decode_cursor, encode_cursor
from timeline.store.read import COLUMNS, row_to_recorded

MAX_LIMIT = 1000


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
        "tx_id < pg_snapshot_xmin(pg_current_snapshot())",
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
