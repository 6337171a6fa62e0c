"""A batch of assertion streams written set-based: plan_write's rows, sent by COPY.

Two callers: a dataset release writes new events and their rows (`write_batch`),
and every bulk path that moved events into the log first — a rebuild's batch, an
NDJSON import's — writes only their rows (`project_changes`, which projections.write
calls). Both make their staging records with `projection_records`.

The rows are the write path's own (`write.plan_rows`: the same folds and row
functions as every append), staged for `store.bulk_write` so that each piece
of content crosses the wire once: a new event's JSON goes in its event row
only (its revision row's `event_data` is taken from it), and a current row
whose state is that of the batch's new revision row names that row instead of
repeating its state and view.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections.rows import Changes
from timeline.projections.schema import SCHEMA
from timeline.projections.sources import sources
from timeline.projections.timelines import timelines
from timeline.projections.write import FOLDED, ForWrite, plan_rows
from timeline.store.append import PENDING, Append, StreamRef
from timeline.store.bulk_write import (
    CUT_COLUMNS,
    REVISION_COLUMNS,
    STATE_COLUMNS,
    Batch,
    Record,
    Written,
    bulk_project,
    bulk_write,
)
from timeline.store.codec import RecordedEvent, reported_at_for_row, type_of
from timeline.store.read import read_streams

# A dataset row an assertion stands for: (timeline, dataset, row id, hash of the row).
DatasetRowHash = tuple[str, str, str, bytes]

_REVISION_ALL = (*REVISION_COLUMNS, *STATE_COLUMNS)
_NO_STATE = (None,) * len(STATE_COLUMNS)
# A row's values in its staging columns, picked in C (a generator of lookups cost more).
_revision_record = operator.itemgetter(*_REVISION_ALL)
_state_record = operator.itemgetter(*STATE_COLUMNS)
_cut_record = operator.itemgetter(*CUT_COLUMNS)


@contextmanager
def collecting_after() -> Iterator[None]:
    """Python's cyclic garbage collector held off for the block (one batch of a bulk path).

    A batch makes tens of thousands of objects that live until its COPY, so each pass
    of the collector rescans them, and the process's whole heap, again and again: that
    was about half the CPU of a rebuild. Nothing of a batch is cyclic garbage worth
    catching early; the first collection after the block catches whatever is. A block
    inside another leaves the collector to the outer one.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def projection_records(changes: Changes) -> tuple[list[Record], list[Record], list[Record]]:
    """The staging records (revisions, current rows, cuts) of a batch's row writes.

    A revision row of an event the write sends (position PENDING + n) goes without its
    `event_data`: the SQL takes it from the event. A current row whose state is that
    of a new live revision row names that row's version instead of repeating its
    state and view.
    """
    revisions: list[Record] = []
    shared: dict[int, int] = {}  # id of a new live row's state JSON -> its version
    for row in changes.inserts:
        if row["position"] >= PENDING:
            row = {**row, "event_data": None}
        revisions.append(_revision_record(row))
        if row["recorded_to"] is None and row["known_to"] is None:
            shared[id(row["state"])] = row["version"]
    assertions: list[Record] = []
    for row in [*changes.firsts, *changes.currents]:
        version = shared.get(id(row["state"]))
        if version is not None:
            assertions.append((row["assertion_id"], version, *_NO_STATE))
        else:
            assertions.append((row["assertion_id"], None, *_state_record(row)))
    cuts: list[Record] = [_cut_record(u) for u in changes.updates]
    return revisions, assertions, cuts


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
    revisions, assertions, cuts = projection_records(plan.changes)
    dataset_rows: list[Record] = []
    for stream, row in plan.written.items():
        found = (hashes or {}).get(stream.id)
        if found is not None:
            dataset_rows.append((*found[:3], stream.id, found[3], row["last_position"]))
    return Batch(
        events=events,
        revisions=revisions,
        assertions=assertions,
        cuts=cuts,
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


def schema_of(conn: AsyncConnection) -> str:
    """The schema `projections.*` statements on `conn` write into (a rebuild's build
    schema when the connection translates it)."""
    assert conn.sync_connection is not None
    options = conn.sync_connection.get_execution_options()
    return str((options.get("schema_translate_map") or {}).get(SCHEMA, SCHEMA))


async def project_changes(conn: AsyncConnection, changes: Changes) -> None:
    """Write the row writes of events the log holds already, set-based, in the caller's
    transaction: COPY into staging, then one statement per table (store.bulk_write)."""
    revisions, assertions, cuts = projection_records(changes)
    batch = Batch(revisions=revisions, assertions=assertions, cuts=cuts)
    await bulk_project(conn, batch, schema=schema_of(conn))


async def fold_folded(
    conn: AsyncConnection, recorded: Sequence[RecordedEvent]
) -> dict[str, list[dict[str, Any]]]:
    """The rows (per stream type) of the timeline and source streams among `recorded`,
    each stream folded once from the log up to its last version here."""
    last: dict[StreamRef, RecordedEvent] = {}
    for r in recorded:
        stream = StreamRef(r.stream_type, r.stream_id)
        if r.stream_type in FOLDED and (stream not in last or r.version > last[stream].version):
            last[stream] = r
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in FOLDED}
    if not last:
        return rows
    logged = await read_streams(conn, last)
    for stream, r in last.items():
        fold, row_of = FOLDED[stream.type]
        state = fold(e.event for e in logged[stream] if e.version <= r.version)
        if state is not None:
            row = row_of(state, recorded_at=r.recorded_at, last_position=r.position)
            rows[stream.type].append(row)
    return rows


async def upsert_folded(conn: AsyncConnection, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """`fold_folded`'s rows, by one upsert per table.

    A row never goes back: one whose version is already as high stays (a rebuild's feed
    can bring a version it read from the log before).
    """
    for stream_type, table in (("timeline", timelines), ("source", sources)):
        if rows.get(stream_type):
            upsert = insert(table).values(rows[stream_type])
            key = table.primary_key.columns.values()[0]
            await conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[key],
                    set_={c.name: upsert.excluded[c.name] for c in table.columns if c is not key},
                    where=table.c.version < upsert.excluded.version,
                )
            )
