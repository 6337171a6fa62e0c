"""Read models: current state, revision history, and what was known on any date.

One module per read model, each holding its tables, how each event changes
them, and its reads: `timelines`, `sources`, `assertions` (with `revising`
and `rows`, how its events change it, and `pages`, a timeline's page of it).
The write path plans its rows itself (write.py) and sends them with its events;
`apply` is what the bulk paths run over events already in the log — a rebuild's
batches, an NDJSON import's — set-based, a batch at a time (bulk.py).
docs/projections.md draws the layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections import revising
from timeline.projections.assertions import assertions_citing
from timeline.projections.bulk import project_folded
from timeline.projections.revising import RowCache
from timeline.store.codec import RecordedEvent

__all__ = ["apply", "assertions_citing"]


async def apply(
    conn: AsyncConnection,
    recorded: Sequence[RecordedEvent],
    *,
    cache: RowCache | None = None,
    unseen: bool = False,
) -> None:
    """Change every read model for `recorded` (events in the log), in the caller's
    transaction: each stream folded once, its rows sent in bulk.

    A rebuild passes its `cache` of the rows it wrote, so it does not read them back.
    `unseen`: no event of `recorded` was applied before (revising.apply).
    """
    ordered = sorted(recorded, key=lambda r: r.position)
    await project_folded(conn, ordered)
    # assertion rows depend on nothing but their own stream
    assertion_events = [r for r in ordered if r.stream_type == "assertion"]
    await revising.apply(conn, assertion_events, cache, unseen=unseen)
