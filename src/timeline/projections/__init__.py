"""Read models: current state, revision history, and what was known on any date.

PLACEHOLDER until issue 4 lands: `apply` and `assertions_citing` are the
interface the write path calls.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.codec import RecordedEvent


async def apply(conn: AsyncConnection, recorded: Sequence[RecordedEvent]) -> None:
    """Update every read model for `recorded`, in the caller's transaction."""
    return None


async def assertions_citing(conn: AsyncConnection, source_id: str) -> list[str]:
    """Ids of the assertions whose citations include `source_id`."""
    return []
