"""The second pass: staged rows decided and written a batch per transaction, set-based.

Each batch is decided from one read of its streams and written by one bulk
write (`projections.bulk`: COPY into staging, one `timeline_bulk_write`), and
commits on its own, so the feed's horizon keeps moving. A first import (no row
of this dataset in this timeline yet) reads nothing but the clock: no stream
can exist. Batches are pipelined: while one is written on its connection, the
next is read on another and decided in a worker thread (the decisions and
projection rows are pure), so Python and PostgreSQL work at the same time;
the writes still commit one after the other, in file order.

A writer that changed one of the streams meanwhile makes a write fail as a
whole; that batch is then read and decided again on the writing connection.
Each batch counts into a report of its own, added to the release's once the
batch committed, so a batch decided twice counts once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.commands.load import assertion_stream
from timeline.domain.assertions import Assertion
from timeline.domain.events import Event
from timeline.projections.bulk import DatasetRowHash, batch_of
from timeline.projections.write import ForWrite
from timeline.store.append import Append
from timeline.store.bulk_write import Batch, bulk_write
from timeline.store.codec import RecordedEvent, encode_data
from timeline.store.db import fetch
from timeline.store.errors import StreamVersionConflict
from timeline.transfer.bulk import current_states, load_assertions_for_write
from timeline.transfer.dataset import assertion_id
from timeline.transfer.report import Release, ReleaseReport

# decide(row_id, its stream as read, the batch's report): the row's new events.
Decide = Callable[[str, Sequence[RecordedEvent], ReleaseReport], Sequence[Event]]
# settled(row_id, current state, report): the row needs nothing, seen from its projection row.
Settled = Callable[[str, Assertion, ReleaseReport], bool]

_CLOCK = "SELECT clock_timestamp() AS clock"
ATTEMPTS = 3


class Rows(msgspec.Struct, frozen=True, kw_only=True):
    """A batch of rows and how to decide them."""

    release: Release
    row_ids: Sequence[str]
    decide: Decide
    metadata: Mapping[str, Any]
    settled: Settled | None = None
    hashes: Mapping[str, bytes] = msgspec.field(default_factory=dict)


class Prepared(msgspec.Struct, kw_only=True):
    """A batch decided: its report, and what to write (None: nothing)."""

    report: ReleaseReport
    batch: Batch | None = None
    read: ForWrite | None = None


async def prepare(conn: AsyncConnection, rows: Rows, *, fresh: bool) -> Prepared:
    """Read what the rows' decisions need on `conn` (nothing but the clock when `fresh`:
    no stream can exist yet), then decide them and plan the write in a worker thread."""
    release = rows.release
    name, slug = release.codebook.name, release.timeline
    ids = {r: assertion_id(name, slug, r) for r in rows.row_ids}
    report = ReleaseReport()
    todo = list(rows.row_ids)
    if rows.settled is not None and not fresh:
        current = await current_states(conn, list(ids.values()))
        settled = rows.settled
        todo = [r for r in todo if ids[r] not in current or not settled(r, current[ids[r]], report)]
    if not todo:
        return Prepared(report=report)
    if fresh:
        (clock,) = await fetch(conn, _CLOCK)
        read = ForWrite(streams={}, live={}, clock=clock["clock"])
    else:
        read = await load_assertions_for_write(conn, [ids[r] for r in todo])

    def decide() -> Batch | None:
        appends: list[Append] = []
        for row_id in todo:
            stream = assertion_stream(ids[row_id])
            old = read.streams.get(stream, [])
            events = rows.decide(row_id, old, report)
            if events:
                appends.append(
                    Append(
                        stream=stream,
                        expected=old[-1].version if old else 0,
                        events=events,
                        data=[encode_data(e) for e in events],
                        metadata=rows.metadata,
                        timeline=slug,
                    )
                )
        if not appends:
            return None
        hashes: dict[str, DatasetRowHash] = {
            ids[r]: (slug, name, r, digest) for r, digest in rows.hashes.items()
        }
        return batch_of(read, appends, hashes)

    batch = await asyncio.to_thread(decide)
    return Prepared(report=report, batch=batch, read=read)


async def commit(conn: AsyncConnection, prepared: Prepared, metadata: Mapping[str, Any]) -> None:
    """Write a prepared batch on `conn` and commit; StreamVersionConflict rolls it back."""
    try:
        if prepared.batch is not None and prepared.read is not None:
            await bulk_write(
                conn, prepared.batch, metadata=metadata, recorded_at=prepared.read.clock
            )
        await conn.commit()
    except StreamVersionConflict:
        await conn.rollback()
        raise


async def write_rows(conn: AsyncConnection, rows: Rows, into: ReleaseReport) -> None:
    """Read, decide and write a batch on one connection, again on a conflict."""
    for attempt in range(ATTEMPTS):
        try:
            prepared = await prepare(conn, rows, fresh=False)
            await commit(conn, prepared, rows.metadata)
        except StreamVersionConflict:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        into.add(prepared.report)
        return


class Pipeline:
    """Batches prepared on `reader` while the one before is written on `writer`."""

    def __init__(self, reader: AsyncConnection, writer: AsyncConnection, into: ReleaseReport):
        self.reader, self.writer, self.into = reader, writer, into
        self.inflight: asyncio.Task[None] | None = None

    async def put(self, rows: Rows, *, fresh: bool) -> None:
        prepared = await prepare(self.reader, rows, fresh=fresh)
        await self.reader.commit()  # the reads' transaction ends here
        await self.drain()
        self.inflight = asyncio.create_task(self._write(rows, prepared))

    async def _write(self, rows: Rows, prepared: Prepared) -> None:
        try:
            await commit(self.writer, prepared, rows.metadata)
        except StreamVersionConflict:
            await write_rows(self.writer, rows, self.into)  # read and decided again
            return
        self.into.add(prepared.report)

    async def drain(self) -> None:
        if self.inflight is not None:
            task, self.inflight = self.inflight, None
            await task
