"""`timeline export`: the log as NDJSON, or a timeline's state at a knowledge date."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.projections.temporal import Temporal
from timeline.projections.timelines import get_timeline
from timeline.projections.views import AssertionView, TimelinePage
from timeline.transfer.ndjson import encode_line

PAGE = 500

# Feed order, (transaction id, position), is causal within a stream (a version is
# inserted only after the one before it committed) and across streams (a citing
# assertion is decided after the source it cites was committed); it is also the
# verifiable log's leaf order, so the integrated lines come first, by log_index.
_LOG = text(
    "SELECT stream_type, stream_id, version, type, schema_version, data::text AS data, "
    "metadata::text AS metadata, timeline, reported_at, recorded_at, "
    "(SELECT leaf_index FROM log_leaves WHERE log_leaves.position = events.position) "
    "AS log_index FROM events "
    "WHERE CAST(:timeline AS text) IS NULL OR timeline = :timeline OR stream_type = 'source' "
    "ORDER BY events.tx_id, events.position"
)


async def export_log(engine: AsyncEngine, timeline: str | None = None) -> AsyncIterator[bytes]:
    """NDJSON lines of the whole log (or one timeline's events and every source's), in order.

    One REPEATABLE READ snapshot, read through a server-side cursor: a
    consistent copy in constant memory. The snapshot takes no transaction id,
    so it does not hold the feed back.
    """
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ", yield_per=2000)
        async with conn.begin():
            result = await conn.stream(_LOG, {"timeline": timeline})
            async for row in result:
                yield encode_line(row)


_PUBLISHERS = text(
    "SELECT source_id, publisher FROM projections.sources WHERE source_id = ANY(:ids)"
)


async def source_publishers(conn: AsyncConnection, source_ids: Iterable[str]) -> dict[str, str]:
    """Each source's publisher by id, for exports that name sources (ACLED's `source`)."""
    rows = await conn.execute(_PUBLISHERS, {"ids": sorted(set(source_ids))})
    return {row.source_id: row.publisher for row in rows}


async def timeline_state(
    engine: AsyncEngine, slug: str, known_at: datetime | None
) -> tuple[TimelinePage, list[AssertionView]] | None:
    """The timeline at `known_at` (now when None) with all its assertions, every page read."""
    temporal = Temporal(known_at=known_at)
    assertions: list[AssertionView] = []
    cursor: str | None = None
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            while True:
                page = await get_timeline(conn, slug, temporal, cursor=cursor, limit=PAGE)
                if page is None:
                    return None
                assertions += page.assertions
                if page.next_cursor is None:
                    return page, assertions
                cursor = page.next_cursor
