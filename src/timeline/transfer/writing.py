"""The second pass: staged rows decided and written a batch per transaction, set-based.

Each batch is decided from one read of its streams and written by one bulk
write (`projections.bulk`: COPY into staging, one `timeline_bulk_write`), and
commits on its own, so the feed's horizon keeps moving. A first import (no row
of this dataset in this timeline yet) reads nothing but the clock: no stream
can exist. A writer that changed one of the streams meanwhile makes the write
fail as a whole; the batch is then read and decided again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.commands.load import assertion_stream
from timeline.domain.assertions import Assertion
from timeline.domain.events import Event
from timeline.projections.bulk import DatasetRowHash, write_batch
from timeline.projections.write import ForWrite
from timeline.store.append import Append
from timeline.store.codec import RecordedEvent, encode_data
from timeline.store.db import fetch
from timeline.store.errors import StreamVersionConflict
from timeline.transfer.bulk import current_states, load_assertions_for_write
from timeline.transfer.dataset import assertion_id
from timeline.transfer.report import Release

Decide = Callable[[str, Sequence[RecordedEvent]], Sequence[Event]]
# settled(row_id, current state): the row needs nothing, decided from its projection row alone.
Settled = Callable[[str, Assertion], bool]

_CLOCK = "SELECT clock_timestamp() AS clock"
ATTEMPTS = 3


async def _read(conn: AsyncConnection, ids: Sequence[str], *, fresh: bool) -> ForWrite:
    if fresh:
        (row,) = await fetch(conn, _CLOCK)
        return ForWrite(streams={}, live={}, clock=row["clock"])
    return await load_assertions_for_write(conn, ids)


async def write_rows(
    conn: AsyncConnection,
    release: Release,
    row_ids: Sequence[str],
    decide: Decide,
    metadata: Mapping[str, Any],
    *,
    settled: Settled | None = None,
    fresh: bool = False,
    hashes: Mapping[str, bytes] | None = None,
) -> None:
    """Decide each row from its stream and write them all in one transaction.

    `settled` first reads the rows' current states from their projection rows:
    a settled row needs no stream read at all. `fresh` says no row's stream can
    exist yet (a first import): nothing is read. `hashes` are the rows' hashes,
    stored with the assertions they write.
    """
    name, slug = release.codebook.name, release.timeline
    ids = {r: assertion_id(name, slug, r) for r in row_ids}
    for attempt in range(ATTEMPTS):
        try:
            todo = list(row_ids)
            first = fresh and attempt == 0
            if settled is not None and not first:
                current = await current_states(conn, list(ids.values()))
                todo = [r for r in todo if ids[r] not in current or not settled(r, current[ids[r]])]
            appends: list[Append] = []
            if todo:
                read = await _read(conn, [ids[r] for r in todo], fresh=first)
                for row_id in todo:
                    stream = assertion_stream(ids[row_id])
                    old = read.streams.get(stream, [])
                    events = decide(row_id, old)
                    if events:
                        appends.append(
                            Append(
                                stream=stream,
                                expected=old[-1].version if old else 0,
                                events=events,
                                data=[encode_data(e) for e in events],
                                metadata=metadata,
                                timeline=slug,
                            )
                        )
            if appends:
                by_id: dict[str, DatasetRowHash] = {}
                for row_id, digest in (hashes or {}).items():
                    by_id[ids[row_id]] = (slug, name, row_id, digest)
                await write_batch(conn, read, appends, hashes=by_id)
            await conn.commit()
            return
        except StreamVersionConflict:
            await conn.rollback()
            if attempt == ATTEMPTS - 1:
                raise
