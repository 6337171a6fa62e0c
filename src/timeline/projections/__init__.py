"""Read models: current state, revision history, and what was known on any date.

`apply` is what the write path calls after each append, in its transaction;
a rebuild runs the same function over the whole log. Reads are in `reads.py`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections import update
from timeline.store.codec import RecordedEvent


async def apply(conn: AsyncConnection, recorded: Sequence[RecordedEvent]) -> None:
    """Update every read model for `recorded`, in the caller's transaction."""
    await update.apply_events(conn, recorded)


async def assertions_citing(conn: AsyncConnection, source_id: str) -> list[str]:
    """Ids of the assertions whose citations include `source_id`."""
    return await update.assertions_citing(conn, source_id)
