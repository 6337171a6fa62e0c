"""The first pass over a release file: every row read, checked and staged; nothing written.

Each row is parsed once. Its mapped fields go into a session-local table,
`release_rows` (line, row id, the row's hash, the mapped row), that the second
pass reads back, so the file is not parsed twice and no set of row ids is held
in Python: repeated ids, the rows a deletions file lists and the rows a full
release no longer has are found by SQL against it.

A row whose hash equals the one stored for its row id (`dataset_rows`,
migration 0013), while its assertion's current row is still the one that hash
was stored with, is `settled`: the release says of it what the store holds, so
it is neither parsed nor written (a re-import reads one short column a row).
The hash covers the dataset, the mapping's version and every cell by column
name, so a file with its columns in another order hashes the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.db import copy_records, fetch
from timeline.transfer.csvrows import HeaderError, RowError, read_rows
from timeline.transfer.dataset import Codebook, Mapped
from timeline.transfer.progress import Progress
from timeline.transfer.report import Release, ReleaseReport
from timeline.transfer.settled import row_hash

CHUNK = 1000  # rows a COPY, a commit and a look-up of hashes; also the memory a chunk takes

_mapped_encoder = msgspec.msgpack.Encoder()
mapped_decoder = msgspec.msgpack.Decoder(Mapped)

_STAGE = (
    "DROP TABLE IF EXISTS pg_temp.release_rows",
    "DROP TABLE IF EXISTS pg_temp.release_deleted",
    "CREATE TEMP TABLE release_rows (line int PRIMARY KEY, row_id text NOT NULL, "
    "row_hash bytea NOT NULL, settled boolean NOT NULL, mapped bytea)",
    "CREATE TEMP TABLE release_deleted (row_id text NOT NULL)",
)
_UNSTAGE = (
    "DROP TABLE IF EXISTS pg_temp.release_rows",
    "DROP TABLE IF EXISTS pg_temp.release_deleted",
    "DROP TABLE IF EXISTS pg_temp.release_gone",
    "DROP TABLE IF EXISTS pg_temp.release_raw",
)
_SETTLED = (
    "SELECT w.row_id FROM unnest($1::text[], $2::bytea[]) AS w (row_id, row_hash) "
    "JOIN dataset_rows d ON d.timeline = $3 AND d.dataset = $4 AND d.row_id = w.row_id "
    "  AND d.row_hash = w.row_hash "
    "JOIN projections.assertions a ON a.assertion_id = d.assertion_id "
    "  AND a.last_position = d.last_position"
)
_REPEATED = (
    "SELECT s.line FROM release_rows s WHERE EXISTS (SELECT 1 FROM release_rows t "
    "WHERE t.row_id = s.row_id AND t.line < s.line) ORDER BY s.line"
)
_DROP_REPEATED = (
    "DELETE FROM release_rows s WHERE EXISTS (SELECT 1 FROM release_rows t "
    "WHERE t.row_id = s.row_id AND t.line < s.line)"
)
_COUNTS = "SELECT count(*) AS rows, count(*) FILTER (WHERE settled) AS settled FROM release_rows"


async def stage(conn: AsyncConnection) -> None:
    for statement in _STAGE:
        await fetch(conn, statement)
    await conn.commit()


async def unstage(conn: AsyncConnection) -> None:
    await conn.rollback()
    for statement in _UNSTAGE:
        await fetch(conn, statement)
    await conn.commit()


class Checked(msgspec.Struct, kw_only=True):
    """What the first pass learns: the report, the source names of the rows to write, and
    how many rows are staged to write (`pending`)."""

    report: ReleaseReport
    names: set[str]
    pending: int = 0


def _chunks(path: str, codebook: Codebook, report: ReleaseReport) -> Iterator[list[Any]]:
    """The file's rows CHUNK at a time (each with the bytes read); bad records to `report`."""
    chunk: list[Any] = []
    with open(path, "rb") as stream:
        for item, read in read_rows(stream, codebook.required):
            if isinstance(item, RowError):
                report.error(str(item))
                continue
            chunk.append((item, read))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


async def check_file(
    conn: AsyncConnection,
    path: str,
    release: Release,
    progress: Progress,
    size: int | None,
    *,
    known: bool,
) -> Checked:
    """First pass: every row checked and staged, nothing written; `known` when the timeline
    holds rows of this dataset already (else no row can be settled)."""
    codebook = release.codebook
    report = ReleaseReport()
    names: set[str] = set()
    id_column = codebook.required[0]
    header: tuple[str, ...] = ()
    for chunk in _chunks(path, codebook, report):
        header = chunk[0][0].header
        hashes = [row_hash(codebook, row) for row, _ in chunk]
        settled: set[str] = set()
        if known:
            ids = [row.cells[id_column].strip() for row, _ in chunk]
            found = await fetch(conn, _SETTLED, ids, hashes, release.timeline, codebook.name)
            settled = {r["row_id"] for r in found}
        records: list[tuple[int, str, bytes, bool, bytes | None]] = []
        for (row, _), digest in zip(chunk, hashes, strict=True):
            row_id = row.cells[id_column].strip()
            if row_id in settled:
                records.append((row.line, row_id, digest, True, None))
                continue
            try:
                mapped = codebook.parse(row)
            except RowError as error:
                report.error(str(error))
                continue
            names.update(mapped.sources)
            records.append((row.line, mapped.row_id, digest, False, _mapped_encoder.encode(mapped)))
        await copy_records(
            conn,
            "release_rows",
            schema=None,
            columns=("line", "row_id", "row_hash", "settled", "mapped"),
            records=records,
        )
        await conn.commit()  # a temporary table's rows still take a transaction id
        progress("checking", chunk[-1][1], size)
    await fetch(conn, "CREATE INDEX ON release_rows (row_id)")
    repeated = await fetch(conn, _REPEATED)
    if repeated:
        column = header.index(id_column) + 1
        for r in repeated:
            report.error(
                str(RowError(r["line"], "the row id appears earlier too", column, id_column))
            )
        await fetch(conn, _DROP_REPEATED)
    report.sort_errors()
    (counts,) = await fetch(conn, _COUNTS)
    report.rows = counts["rows"] + report.bad
    report.unchanged = counts["settled"]
    await conn.commit()
    return Checked(report=report, names=names, pending=counts["rows"] - counts["settled"])


def _deleted_ids(path: str, id_column: str) -> Iterator[list[tuple[str]]]:
    """The row ids a deletions file lists, CHUNK at a time."""
    ids: list[tuple[str]] = []
    with open(path, "rb") as stream:
        for item, _ in read_rows(stream, (id_column,)):
            if isinstance(item, RowError):
                raise HeaderError(f"deletions: {item}")
            value = item.cells[id_column].strip()
            if not value:
                raise HeaderError(f"deletions: {item.cell_error(id_column, 'must not be empty')}")
            ids.append((value,))
            if len(ids) >= CHUNK:
                yield ids
                ids = []
    if ids:
        yield ids


async def stage_deletions(conn: AsyncConnection, path: str, id_column: str) -> None:
    """Stage the row ids a deletions file lists (ACLED's: event_id_cnty, deleted_timestamp)."""
    for ids in _deleted_ids(path, id_column):
        await copy_records(conn, "release_deleted", schema=None, columns=("row_id",), records=ids)
    await conn.commit()
