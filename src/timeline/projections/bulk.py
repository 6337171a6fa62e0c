"""A batch of assertion streams written set-based: plan_write's rows, sent by COPY.

The rows are the write path's own (`write.plan_rows`: the same folds and row
functions as every append), staged for `store.bulk_write` so that each piece
of content crosses the wire once: a new event's JSON goes in its event row
only (its revision row's `event_data` is taken from it), and a current row
whose state is that of the batch's new revision row names that row instead of
repeating its state and view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections.write import ForWrite, plan_rows
from timeline.store.append import PENDING, Append
from timeline.store.bulk_write import (
    CUT_COLUMNS,
    REVISION_COLUMNS,
    STATE_COLUMNS,
    Batch,
    Record,
    Written,
    bulk_write,
)
from timeline.store.codec import reported_at_for_row, type_of

# A dataset row an assertion stands for: (timeline, dataset, row id, hash of the row).
DatasetRowHash = tuple[str, str, str, bytes]

_REVISION_ALL = (*REVISION_COLUMNS, *STATE_COLUMNS)
_NO_STATE = (None,) * len(STATE_COLUMNS)


def batch_of(
    loaded: ForWrite,
    appends: Sequence[Append],
    hashes: Mapping[str, DatasetRowHash] | None = None,
) -> Batch:
    """The staging records of a write of assertion streams (`hashes` by assertion id)."""
    plan = plan_rows(loaded, appends)
    assert not any(plan.folded.values()), "the bulk path writes assertion streams only"
    events: list[Record] = []
    n = 0
    for append in appends:
        assert append.expected is not None, "a bulk write names the version it read"
        for event, data in zip(append.events, append.data, strict=True):
            n += 1
            events.append(
                (
                    n,
                    append.stream.type,
                    append.stream.id,
                    append.expected,
                    type_of(event),
                    event.schema_version,
                    data,
                    append.timeline,
                    reported_at_for_row(event),
                )
            )
    changes = plan.changes
    revisions: list[Record] = []
    shared: dict[int, int] = {}  # id of a new live row's state JSON -> its version
    for row in changes.inserts:
        if row["position"] >= PENDING:
            row = {**row, "event_data": None}  # the batch's own event: SQL takes it from there
        revisions.append(tuple(row[c] for c in _REVISION_ALL))
        if row["recorded_to"] is None and row["known_to"] is None:
            shared[id(row["state"])] = row["version"]
    assertions: list[Record] = []
    for row in [*changes.firsts, *changes.currents]:
        version = shared.get(id(row["state"]))
        if version is not None:
            assertions.append((row["assertion_id"], version, *_NO_STATE))
        else:
            assertions.append((row["assertion_id"], None, *(row[c] for c in STATE_COLUMNS)))
    dataset_rows: list[Record] = []
    for stream, row in plan.written.items():
        found = (hashes or {}).get(stream.id)
        if found is not None:
            dataset_rows.append((*found[:3], stream.id, found[3], row["last_position"]))
    return Batch(
        events=events,
        revisions=revisions,
        assertions=assertions,
        cuts=[tuple(u[c] for c in CUT_COLUMNS) for u in changes.updates],
        dataset_rows=dataset_rows,
    )


async def write_batch(
    conn: AsyncConnection,
    loaded: ForWrite,
    appends: Sequence[Append],
    *,
    hashes: Mapping[str, DatasetRowHash] | None = None,
) -> Written:
    """Write `appends` (all with one metadata) and their projection rows, in the caller's
    transaction, recorded at `loaded.clock`; StreamVersionConflict as a write raises it."""
    metadata: Mapping[str, Any] = appends[0].metadata
    assert all(a.metadata == metadata for a in appends), "one metadata for the whole batch"
    batch = batch_of(loaded, appends, hashes)
    return await bulk_write(conn, batch, metadata=metadata, recorded_at=loaded.clock)
