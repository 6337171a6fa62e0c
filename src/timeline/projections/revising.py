"""How events change the assertions read model: the row writes of one batch (`plan`).

A batch is a rebuild's thousands of events or an import's. The live revision
rows of its streams are read (or taken from a rebuild's RowCache; a stream the
batch opens has none), each stream is advanced once by rows.fold_stream, and the
row writes that takes are returned, for projections.write to send set-based
(projections/bulk.py: COPY into staging, one statement per table). The write
path plans the same rows itself (write.py) and sends them with its events.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import cast

from sqlalchemy import Text, any_, bindparam, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import AssertionEvent
from timeline.projections.assertions import revisions as revisions_table
from timeline.projections.history import Step
from timeline.projections.rows import Changes, LiveRow, fold_stream, held_row, step_of
from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent, decode_data
from timeline.store.read import read_stream

# Labelled as the write path's load names them, so rows.held_row reads either.
_LIVE_COLUMNS = (
    revisions_table.c.assertion_id,
    revisions_table.c.version,
    revisions_table.c.position,
    revisions_table.c.event_type,
    revisions_table.c.schema_version,
    sql_cast(revisions_table.c.event_data, Text).label("r_event_data"),
    revisions_table.c.event_recorded_at,
    revisions_table.c.recorded_from.label("r_recorded_from"),
    revisions_table.c.known_from.label("r_known_from"),
    revisions_table.c.known_to.label("r_known_to"),
    revisions_table.c.known_cut_at.label("r_known_cut_at"),
    sql_cast(revisions_table.c.state, Text).label("r_state"),
    sql_cast(revisions_table.c.changes, Text).label("r_changes"),
    revisions_table.c.last_position.label("r_last_position"),
    revisions_table.c.recorded_at.label("r_recorded_at"),
)


async def _load_live(conn: AsyncConnection, ids: list[str]) -> dict[str, dict[int, LiveRow]]:
    """The live revision rows of these streams, by assertion and version."""
    live: dict[str, dict[int, LiveRow]] = defaultdict(dict)
    if not ids:
        return live
    rows = await conn.execute(
        select(*_LIVE_COLUMNS).where(
            # one array parameter: an IN list of thousands costs more to compile than to run
            revisions_table.c.assertion_id == any_(bindparam("ids", ids, type_=ARRAY(Text))),
            revisions_table.c.recorded_to.is_(None),
        )
    )
    for row in rows:
        event = decode_data(row.event_type, row.schema_version, row.r_event_data)
        step = Step(
            version=row.version,
            position=row.position,
            event=cast(AssertionEvent, event),
            event_type=row.event_type,
            schema_version=row.schema_version,
            event_data=row.r_event_data,
            recorded_at=row.event_recorded_at,
        )
        live[row.assertion_id][row.version] = held_row(step, row._mapping)
    return live


async def _missing_steps(
    conn: AsyncConnection, assertion_id: str, after: int, before: int
) -> list[Step]:
    """Versions after..before of a stream, read from the log.

    The feed orders by writing transaction, so a rebuild can meet version n+1
    before version n (its transaction took an id first but appended later).
    Version n is committed by then: read it from the log instead of waiting.
    """
    recorded = await read_stream(conn, StreamRef("assertion", assertion_id))
    return [step_of(r) for r in recorded if after < r.version < before]


class RowCache:
    """The live revision rows of the streams a rebuild applied last, kept between its batches.

    Sound only while nothing else writes the tables it mirrors (a rebuild's own
    build schema), and only as long as each batch commits: a rebuild that fails
    drops it with everything else. Holds at most `streams` streams.
    """

    def __init__(self, streams: int = 20_000) -> None:
        self.streams = streams
        self._rows: OrderedDict[str, dict[int, LiveRow]] = OrderedDict()

    def take(self, ids: Iterable[str]) -> dict[str, dict[int, LiveRow]]:
        return {i: rows for i in ids if (rows := self._rows.pop(i, None)) is not None}

    def keep(self, assertion_id: str, rows: dict[int, LiveRow]) -> None:
        for row in rows.values():
            row.in_db, row.dirty = True, False
        self._rows[assertion_id] = rows
        while len(self._rows) > self.streams:
            self._rows.popitem(last=False)


async def plan(
    conn: AsyncConnection,
    recorded: Sequence[RecordedEvent],
    cache: RowCache | None = None,
    *,
    unseen: bool = False,
    settled: Callable[[], Awaitable[None]] | None = None,
) -> Changes:
    """The row writes `recorded` (assertion events only, in position order) take.

    A rebuild passes its `cache` of the rows it planned, so it does not read them back.
    `unseen`: no event of `recorded` was applied before (an import's, a rebuild's first
    pass), so a stream the batch opens at version 1 has no rows to read. `settled` is
    awaited before live rows are read from the tables: a rebuild's write of the batch
    before, still in flight while this one is planned, must have committed.
    The fold gives the event loop a turn every few streams, so that such a write
    goes on meanwhile.
    """
    streams: dict[str, list[RecordedEvent]] = defaultdict(list)
    for r in recorded:
        streams[r.stream_id].append(r)
    cached = cache.take(streams) if cache is not None else {}
    unread = [
        i
        for i, new in streams.items()
        if i not in cached and not (unseen and min(r.version for r in new) == 1)
    ]
    if unread and settled is not None:
        await settled()
    live = await _load_live(conn, unread)
    live.update(cached)
    changes = Changes()
    for n, (assertion_id, new) in enumerate(streams.items(), 1):
        if n % _TURN == 0:
            await asyncio.sleep(0)
        rows = live[assertion_id]
        have = max(rows, default=0)
        ordered = sorted(new, key=lambda r: r.version)
        steps = [step_of(r) for r in ordered if r.version > have]
        if not steps:
            continue
        if steps[0].version > have + 1:
            steps = [*await _missing_steps(conn, assertion_id, have, steps[0].version), *steps]
        if fold_stream(assertion_id, rows, steps, changes) is not None and cache is not None:
            cache.keep(assertion_id, rows)
    return changes


# Streams folded between two turns of the event loop (a few milliseconds of fold).
_TURN = 50
