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


def _stage(header: tuple[str, ...], id_index: int) -> str:
    return "INSERT INTO release_rows (line, row_id, row_hash, settled) " + _settled(
        header, id_index
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


async def all_settled(
    conn: AsyncConnection, path: str, codebook: Codebook, header: tuple[str, ...], slug: str
) -> int | None:
    """The number of rows when every row of the file is settled (their ids then staged in
    release_rows), else None (nothing staged)."""
    columns = ", ".join(f"c{i} text" for i in range(1, len(header) + 1))
    await fetch(conn, f"CREATE TEMP TABLE release_raw (n serial, {columns})")
    try:
        driver = await driver_of(conn)
        await driver.copy_to_table(
            "release_raw",
            source=path,
            columns=[f"c{i}" for i in range(1, len(header) + 1)],
            format="csv",
            header=True,
            encoding="utf-8",
        )
    except (asyncpg.PostgresError, DBAPIError):
        await conn.rollback()  # a file COPY reads otherwise than csvrows: row by row
        return None
    prefix, _ = _hash_order(codebook.name, header)
    id_index = header.index(codebook.required[0]) + 1
    (probe,) = await fetch(conn, _probe(header, id_index), prefix, slug, codebook.name)
    if probe["unsettled"]:
        await conn.rollback()
        return None
    await fetch(conn, _stage(header, id_index), prefix, slug, codebook.name)
    (found,) = await fetch(conn, _COUNT)
    if not (found["rows"] == found["settled"] == found["ids"]):
        await conn.rollback()  # the raw rows and the staged ones go: row by row after all
        return None
    await fetch(conn, "DROP TABLE release_raw")
    await conn.commit()
    return int(found["rows"])
