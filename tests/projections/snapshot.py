"""Every projection row, in a stable order: what "incremental equals rebuilt" compares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_ORDER = {
    "timelines": "slug",
    "sources": "source_id",
    "assertions": "assertion_id",
    "revisions": "assertion_id, version, recorded_from",
}


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """All rows of the live projection tables."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table, order in _ORDER.items():
            rows = await conn.execute(text(f"SELECT * FROM projections.{table} ORDER BY {order}"))
            out[table] = [tuple(row) for row in rows]
    return out
