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

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections import revising
from timeline.projections.assertions import assertions_citing
from timeline.projections.bulk import fold_folded, project_changes, upsert_folded
from timeline.projections.revising import RowCache
from timeline.projections.rows import Changes
from timeline.store.codec import RecordedEvent

__all__ = ["BatchRows", "apply", "assertions_citing", "plan", "write"]


@dataclass
class BatchRows:
    """What a batch of events in the log changes: timeline and source rows (per stream
    type), and the assertion tables' row writes."""

    folded: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    changes: Changes = field(default_factory=Changes)


async def plan(
    conn: AsyncConnection,
    recorded: Sequence[RecordedEvent],
    *,
    cache: RowCache | None = None,
    unseen: bool = False,
    settled: Callable[[], Awaitable[None]] | None = None,
) -> BatchRows:
    """The rows `recorded` (events in the log) change: each stream folded once.

    Reads on `conn` what the fold starts from (the log; the live revision rows of
    streams neither in `cache` nor opened here, after awaiting `settled`).
    `unseen`: no event of `recorded` was applied before (revising.plan).
    """
    ordered = sorted(recorded, key=lambda r: r.position)
    folded = await fold_folded(conn, ordered)
    # assertion rows depend on nothing but their own stream
    assertion_events = [r for r in ordered if r.stream_type == "assertion"]
    changes = await revising.plan(conn, assertion_events, cache, unseen=unseen, settled=settled)
    return BatchRows(folded=folded, changes=changes)


async def write(conn: AsyncConnection, rows: BatchRows) -> None:
    """Send a batch's rows, set-based, in the caller's transaction."""
    await upsert_folded(conn, rows.folded)
    await project_changes(conn, rows.changes)


async def apply(
    conn: AsyncConnection,
    recorded: Sequence[RecordedEvent],
    *,
    cache: RowCache | None = None,
    unseen: bool = False,
) -> None:
    """Change every read model for `recorded` (events in the log), in the caller's
    transaction: `plan`, then `write`, on one connection.

    A rebuild passes its `cache` of the rows it wrote, so it does not read them back.
    """
    await write(conn, await plan(conn, recorded, cache=cache, unseen=unseen))
