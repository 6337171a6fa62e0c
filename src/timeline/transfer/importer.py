"""`timeline import` and `timeline restore` of an NDJSON log, all or nothing for bad input.

`import` appends the file's events afresh: this store's recorded_at and the
importer's metadata (DESIGN §3: events moved between stores are appended
afresh). `restore` puts a backup back into an empty store with the file's own
recorded_at and metadata, and says so. Both check every line, and the file as
a whole against the domain's rules, before writing anything.

First pass: every line is parsed and checked, then COPY'd into a session-local
staging table in chunks (memory stays flat whatever the file's size). The
staged file is checked as a whole against itself and the store. Only then does
the second pass move the rows into `events`, a batch per transaction, and
update the projections in that same transaction (`projections.apply`, the
set-based path a rebuild runs: each stream folded once per batch, its rows sent
by COPY): a reader never sees an event without its read models, an
interrupted import leaves a consistent store that a rerun completes, and the
cost is proportional to the file, not to the store as a rebuild's would be.
Committing per batch, staging included, keeps the feed's horizon moving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.projections import apply
from timeline.projections.bulk import collecting_after
from timeline.store.restore import (
    RestoreConflict,
    StagedEvent,
    check_empty,
    create_staging,
    drop_staging,
    first_problem,
    index_staging,
    restore_lines,
    restore_lines_quietly,
    stage,
)
from timeline.transfer.ndjson import BadLine, parse_line
from timeline.transfer.progress import Progress, no_progress

DEFAULT_BATCH = 5000
# Lines parsed between two turns of the event loop while a chunk is staged.
_TURN = 500


class ImportReport(msgspec.Struct, kw_only=True):
    lines: int = 0
    written: int = 0
    kept_clocks: bool = False

    @property
    def skipped(self) -> int:
        """Events the store held already (or the file repeated)."""
        return self.lines - self.written


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    """(line number, content, bytes read so far) for every non-blank line."""
    read = 0
    for number, raw in enumerate(stream, start=1):
        read += len(raw)
        if raw.strip():
            yield number, raw, read


async def _stage_file(
    conn: AsyncConnection,
    stream: BinaryIO,
    batch: int,
    progress: Progress,
    size: int | None,
    keep_clocks: bool,
) -> tuple[int, int]:
    """Parse, check and stage every line; (events staged, last line number).

    A chunk is COPY'd and committed while the next is parsed (the parse gives the
    event loop a turn every few hundred lines), so the database's work and Python's
    overlap; one chunk at most is in flight.
    """
    now: datetime = await conn.scalar(text("SELECT clock_timestamp()"))
    chunk: list[StagedEvent] = []
    staged = last = 0
    previous: datetime | None = None
    writing: asyncio.Task[None] | None = None

    async def flush(rows: list[StagedEvent]) -> None:
        await stage(conn, rows)
        await conn.commit()  # staging writes hold a transaction id: let the feed move

    try:
        for number, raw, read in _lines(stream):
            event = parse_line(raw, number, now)
            if keep_clocks:
                # Kept clocks must read as a log: positions follow file order, so
                # recorded_at must too, or a past answer would change.
                if previous is not None and event.recorded_at < previous:
                    raise BadLine(number, "recorded_at: earlier than the line before's")
                previous = event.recorded_at
            chunk.append(event)
            last = number
            if len(chunk) >= batch:
                if writing is not None:
                    await writing
                writing = asyncio.create_task(flush(chunk))
                staged += len(chunk)
                chunk = []
                progress("checking", read, size)
            elif number % _TURN == 0:
                await asyncio.sleep(0)  # the chunk in flight goes on
        if writing is not None:
            await writing
    finally:
        # a bad line: the chunk in flight ends before the caller rolls back
        if writing is not None and not writing.done():
            await asyncio.wait([writing])
    await stage(conn, chunk)
    staged += len(chunk)
    await index_staging(conn)
    await conn.commit()
    return staged, last


async def import_events(
    engine: AsyncEngine,
    stream: BinaryIO,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Progress = no_progress,
    size: int | None = None,
    project: bool = True,
    actor: str = "timeline import",
    keep_clocks: bool = False,
) -> ImportReport:
    """Append the events of `stream` afresh; BadLine or RestoreConflict name the first bad line.

    Each event written carries this store's recorded_at and metadata naming
    `actor`. With `keep_clocks` (a restore) the store must be empty
    (StoreNotEmpty) and each event keeps the file's recorded_at and metadata.
    Nothing is written when a line is bad or contradicts the store or the
    domain's rules. A second import of the same file writes nothing.
    `project=False` writes the log alone, for a caller that rebuilds the
    projections afterwards.
    """
    report = ImportReport(kept_clocks=keep_clocks)
    metadata = msgspec.json.encode({"actor": actor}).decode()
    options: dict[str, Any] = {"metadata": metadata, "keep_clocks": keep_clocks}
    async with engine.connect() as conn:
        await create_staging(conn)
        await conn.commit()
        try:
            if keep_clocks:
                await check_empty(conn)
            report.lines, last = await _stage_file(conn, stream, batch, progress, size, keep_clocks)
            problem = await first_problem(conn)
            await conn.commit()
            if problem is not None:
                raise problem
            for first in range(1, last + 1, batch):
                last_of_batch = first + batch - 1
                if keep_clocks and first == 1:
                    await check_empty(conn)  # again, in the first batch's transaction
                if project:
                    with collecting_after():
                        recorded = await restore_lines(conn, first, last_of_batch, **options)
                        if recorded:
                            await apply(conn, recorded, unseen=True)
                    report.written += len(recorded)
                else:
                    report.written += await restore_lines_quietly(
                        conn, first, last_of_batch, **options
                    )
                await conn.commit()
                progress("restoring", min(first + batch - 1, last), last)
        except BaseException:
            await conn.rollback()
            raise
        finally:
            await drop_staging(conn)
            await conn.commit()
    return report


__all__ = ["DEFAULT_BATCH", "ImportReport", "RestoreConflict", "import_events"]
