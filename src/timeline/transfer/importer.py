"""`timeline import`: restore an NDJSON log into this store, all or nothing for bad input.

First pass: every line is parsed and checked, then COPY'd into a session-local
staging table in chunks (memory stays flat whatever the file's size). The
staged file is checked as a whole against itself and the store. Only then does
the second pass move the rows into `events`, a batch per transaction, and
update the projections in that same transaction (`projections.apply`, as every
append does): a reader never sees an event without its read models, an
interrupted import leaves a consistent store that a rerun completes, and the
cost is proportional to the file, not to the store as a rebuild's would be.
Committing per batch, staging included, keeps the feed's horizon moving.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.projections import apply
from timeline.store.restore import (
    RestoreConflict,
    StagedEvent,
    create_staging,
    drop_staging,
    first_problem,
    index_staging,
    restore_lines,
    restore_lines_quietly,
    stage,
)
from timeline.transfer.ndjson import parse_line

DEFAULT_BATCH = 5000

# progress(phase, done, total): phase is "checking" (bytes read) or "restoring" (lines).
Progress = Callable[[str, int, int | None], None]


class ImportReport(msgspec.Struct, kw_only=True):
    lines: int = 0
    written: int = 0

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


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


async def _stage_file(
    conn: AsyncConnection, stream: BinaryIO, batch: int, progress: Progress, size: int | None
) -> tuple[int, int]:
    """Parse, check and stage every line; (events staged, last line number)."""
    chunk: list[StagedEvent] = []
    staged = last = 0
    for number, raw, read in _lines(stream):
        chunk.append(parse_line(raw, number))
        last = number
        if len(chunk) >= batch:
            await stage(conn, chunk)
            await conn.commit()  # staging writes hold a transaction id: let the feed move
            staged += len(chunk)
            chunk.clear()
            progress("checking", read, size)
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
    progress: Progress = _no_progress,
    size: int | None = None,
    project: bool = True,
) -> ImportReport:
    """Restore the events of `stream`; BadLine or RestoreConflict name the first bad line.

    Nothing is written when a line is bad or contradicts the store. A second
    import of the same file writes nothing. `project=False` restores the log
    alone, for a caller that rebuilds the projections afterwards.
    """
    report = ImportReport()
    async with engine.connect() as conn:
        await create_staging(conn)
        await conn.commit()
        try:
            report.lines, last = await _stage_file(conn, stream, batch, progress, size)
            problem = await first_problem(conn)
            await conn.commit()
            if problem is not None:
                raise problem
            for first in range(1, last + 1, batch):
                last_of_batch = first + batch - 1
                if project:
                    recorded = await restore_lines(conn, first, last_of_batch)
                    if recorded:
                        await apply(conn, recorded)
                    report.written += len(recorded)
                else:
                    report.written += await restore_lines_quietly(conn, first, last_of_batch)
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
