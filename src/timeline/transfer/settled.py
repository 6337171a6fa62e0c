"""A row's hash, and a re-import that finds every row settled without Python reading a row.

The hash is of the row's cells by column name: the dataset, the mapping's
version and the column names sorted, then each cell in that order as
`<length>:<text>` (lengths in characters, so no cell can run into the next),
SHA-256 cut to 16 bytes. Python computes it while checking a row
(`row_hash`); PostgreSQL computes the same from the raw cells (`_sql_hash`).

A re-import first COPYs the file as it is into a session-local table
(`release_raw`, a text column per header column) at COPY's own speed and
looks every row's hash up in SQL. When every row is settled (its stored hash
matches and its assertion's current row is still the one it was stored with)
and no row id repeats, the release says nothing new: the row ids are staged
for the retractions and no row is parsed. Anything else (a changed row, a
repeated id, a file COPY cannot read the way csvrows does, such as a blank
line) goes the ordinary way, row by row.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from functools import lru_cache

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.db import driver_of, fetch
from timeline.transfer.csvrows import Row
from timeline.transfer.dataset import Codebook

# Bumped when a codebook maps a row differently: every stored hash then misses once.
MAPPING_VERSION = "1"


@lru_cache(maxsize=16)
def _hash_order(name: str, header: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """What a row's hash starts with, and the columns in hash order."""
    names = tuple(sorted(header))
    return "\x1f".join((name, MAPPING_VERSION, *names)) + "\x1e", names


def row_hash(codebook: Codebook, row: Row) -> bytes:
    """A hash of the row's cells by column name, the same whatever the columns' order."""
    prefix, names = _hash_order(codebook.name, row.header)
    cells = row.cells
    text = prefix + "".join([f"{len(cells[n])}:{cells[n]}" for n in names])
    return hashlib.sha256(text.encode()).digest()[:16]


def _sql_hash(header: tuple[str, ...]) -> str:
    """The SQL of row_hash over release_raw's columns (c1.. in header order); $1 the prefix."""
    _, names = _hash_order("", header)
    cells = [f"coalesce(c{header.index(n) + 1}, '')" for n in names]
    parts = " || ".join(f"length({c})::text || ':' || {c}" for c in cells)
    return f"substr(sha256(convert_to($1 || {parts}, 'UTF8')), 1, 16)"


def _settled(header: tuple[str, ...], id_index: int, where: str = "") -> str:
    """Each raw row's number, id and hash, and whether it is settled: its stored hash
    matches and its assertion's current row is the one the hash was stored with."""
    return (
        "SELECT h.n, h.row_id, h.row_hash, a.assertion_id IS NOT NULL AS settled FROM "
        f"(SELECT n, btrim(c{id_index}) AS row_id, {_sql_hash(header)} AS row_hash "
        f" FROM release_raw {where}) h "
        "LEFT JOIN dataset_rows d ON d.timeline = $2 AND d.dataset = $3 "
        "  AND d.row_id = h.row_id AND d.row_hash = h.row_hash "
        "LEFT JOIN projections.assertions a ON a.assertion_id = d.assertion_id "
        "  AND a.last_position = d.last_position"
    )


def _stage(header: tuple[str, ...], id_index: int, low: int, high: int) -> str:
    """Stage raw rows low <= n < high (whole numbers the caller made)."""
    return "INSERT INTO release_rows (line, row_id, row_hash, settled) " + _settled(
        header, id_index, where=f"WHERE n >= {int(low)} AND n < {int(high)}"
    )


# Rows looked at first: a release with changes spread through it (the usual kind) shows one
# among them, and then goes row by row having paid for little more than the COPY.
PROBE = 1000


def _probe(header: tuple[str, ...], id_index: int) -> str:
    # LIMIT too: the planner then knows it joins 1,000 rows (index lookups, not hashes)
    inner = _settled(header, id_index, where=f"WHERE n <= {PROBE} LIMIT {PROBE}")
    return f"SELECT count(*) FILTER (WHERE NOT settled) AS unsettled FROM ({inner}) p"


_COUNT = (
    "SELECT count(*) AS rows, count(*) FILTER (WHERE settled) AS settled, "
    "count(DISTINCT row_id) AS ids FROM release_rows"
)


# Bytes of the file a COPY, and rows a staging statement, each its own transaction: a
# transaction that holds an id (a temporary table's rows take one) holds the live feed's
# horizon back for every reader, so none may last as long as the file.
COPY_BYTES = 8 << 20
STAGE_ROWS = 50_000


def csv_chunks(path: str, size: int | None = None) -> Iterator[bytes]:
    """The file in pieces of about `size` bytes (COPY_BYTES), each ending where a record does.

    A newline ends a record when an even number of quotes comes before it (a quoted
    field's quotes are doubled), which is how PostgreSQL's CSV reader finds its lines.
    Each piece starts where a record does, so only the quotes inside it count.
    """
    carry, step = b"", size or COPY_BYTES
    with open(path, "rb") as stream:
        while block := stream.read(step):
            block = carry + block
            end, quotes, at = -1, block.count(b'"'), len(block)
            while (newline := block.rfind(b"\n", 0, at)) >= 0:
                quotes -= block.count(b'"', newline, at)
                if quotes % 2 == 0:
                    end = newline
                    break
                at = newline
            if end < 0:
                carry = block  # no record ends in it yet
                continue
            yield block[: end + 1]
            carry = block[end + 1 :]
    if carry:
        yield carry


async def _copy_raw(conn: AsyncConnection, path: str, width: int) -> bool:
    """COPY the file into release_raw a piece at a time, each committed; False when COPY
    cannot read it."""
    driver = await driver_of(conn)
    columns = [f"c{i}" for i in range(1, width + 1)]
    for first, piece in enumerate(csv_chunks(path)):
        try:
            await driver.copy_to_table(
                "release_raw",
                source=io.BytesIO(piece),
                columns=columns,
                format="csv",
                header=first == 0,
                encoding="utf-8",
            )
        except (asyncpg.PostgresError, DBAPIError):
            await conn.rollback()
            return False
        await conn.commit()
    return True


async def _give_up(conn: AsyncConnection) -> None:
    """Row by row after all: what was staged goes, in its own short transaction."""
    await conn.rollback()
    await fetch(conn, "DROP TABLE IF EXISTS pg_temp.release_raw")
    await fetch(conn, "TRUNCATE release_rows")
    await conn.commit()


async def all_settled(
    conn: AsyncConnection, path: str, codebook: Codebook, header: tuple[str, ...], slug: str
) -> int | None:
    """The number of rows when every row of the file is settled (their ids then staged in
    release_rows), else None (nothing staged). No transaction lasts longer than a piece."""
    columns = ", ".join(f"c{i} text" for i in range(1, len(header) + 1))
    await fetch(conn, f"CREATE TEMP TABLE release_raw (n serial, {columns})")
    await conn.commit()
    if not await _copy_raw(conn, path, len(header)):
        await _give_up(conn)  # a file COPY reads otherwise than csvrows: row by row
        return None
    prefix, _ = _hash_order(codebook.name, header)
    id_index = header.index(codebook.required[0]) + 1
    (probe,) = await fetch(conn, _probe(header, id_index), prefix, slug, codebook.name)
    if probe["unsettled"]:
        await _give_up(conn)
        return None
    (last,) = await fetch(conn, "SELECT coalesce(max(n), 0) AS n FROM release_raw")
    for low in range(1, int(last["n"]) + 1, STAGE_ROWS):
        await fetch(
            conn, _stage(header, id_index, low, low + STAGE_ROWS), prefix, slug, codebook.name
        )
        await conn.commit()
    (found,) = await fetch(conn, _COUNT)
    if not (found["rows"] == found["settled"] == found["ids"]):
        await _give_up(conn)
        return None
    await fetch(conn, "DROP TABLE release_raw")
    await conn.commit()
    return int(found["rows"])
