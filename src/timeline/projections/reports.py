"""The knowledge steps of a timeline: every distinct `reported_at` of its assertions' events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections.temporal import Temporal

# One revision row per assertion event (re-cut rows are closed by recorded_to), so
# the live rows' report times are the times at which knowledge of the timeline changed.
_CURRENT = text(
    "SELECT DISTINCT reported_at FROM projections.revisions "
    "WHERE timeline = :slug AND recorded_to IS NULL ORDER BY reported_at"
)
_HELD_AT = text(
    "SELECT DISTINCT reported_at FROM projections.revisions "
    "WHERE timeline = :slug AND recorded_from <= :recorded_at "
    "AND coalesce(recorded_to, 'infinity'::timestamptz) > :recorded_at ORDER BY reported_at"
)


async def report_times(conn: AsyncConnection, slug: str, temporal: Temporal) -> list[datetime]:
    """When the world learned something about this timeline, oldest first, as the store
    held it at `temporal.recorded_at` (now when unset)."""
    if temporal.recorded_at is None:
        rows = await conn.execute(_CURRENT, {"slug": slug})
    else:
        rows = await conn.execute(_HELD_AT, {"slug": slug, "recorded_at": temporal.recorded_at})
    return [row[0] for row in rows]
