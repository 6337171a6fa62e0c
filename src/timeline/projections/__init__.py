"""Read models: current state, revision history, and what was known on any date.

One module per read model, each holding its tables, how each event changes
them, and its reads: `timelines`, `sources`, `assertions` (with `revising`
and `rows`, how its events change it, and `pages`, a timeline's page of it).
`apply` is what the write path calls after each append, in its transaction;
a rebuild runs the same function over the whole log. docs/projections.md
draws the layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections import revising, sources, timelines
from timeline.projections.assertions import assertions_citing
from timeline.projections.revising import RowCache
from timeline.store.codec import RecordedEvent

__all__ = ["apply", "assertions_citing"]


async def apply(
    conn: AsyncConnection, recorded: Sequence[RecordedEvent], *, cache: RowCache | None = None
) -> None:
    """Change every read model for `recorded`, in the caller's transaction.

    A rebuild passes its `cache` of the rows it wrote, so it does not read them back.
    """
    ordered = sorted(recorded, key=lambda r: r.position)
    for r in ordered:
        if r.stream_type == "timeline":
            await timelines.apply(conn, r)
        elif r.stream_type == "source":
            await sources.apply(conn, r)
    # assertion rows depend on nothing but their own stream
    await revising.apply(conn, [r for r in ordered if r.stream_type == "assertion"], cache)
