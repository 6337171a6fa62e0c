"""The verifiable log's tables: leaves, complete nodes, checkpoints (migration 0009).

Statements go straight to asyncpg: the sequencer writes thousands of hashes
per batch as arrays (one statement each), and a proof is one lookup of the
nodes `domain.merkle` planned. Callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from timeline.domain.merkle import TILE_HEIGHT, TILE_WIDTH, Hash, Node

# Advisory-lock keys: 'TLOG' serialises integration batches (transaction scope),
# 'TLSQ' elects the one sequencer of `timeline serve` that runs (session scope).
INTEGRATE_LOCK = 0x544C4F47
SEQUENCER_LOCK = 0x544C5351

Conn = Any  # an asyncpg Connection (or pool proxy): fetch, fetchrow, fetchval, execute


class StoredCheckpoint(msgspec.Struct, frozen=True):
    size: int
    root: bytes
    note: str


class MissingNodes(LookupError):
    """The log's tables lack hashes a proof or tile needs: the tree is not that big."""


async def tree_size(conn: Conn) -> int:
    size = await conn.fetchval("SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves")
    return int(size)


async def last_leaf_feed_key(conn: Conn) -> tuple[int, int] | None:
    """(tx_id, position) in the feed of the newest leaf: the sequencer resumes after it."""
    row = await conn.fetchrow(
        "SELECT e.tx_id::text::bigint AS tx, e.position FROM log_leaves l "
        "JOIN events e ON e.position = l.position ORDER BY l.leaf_index DESC LIMIT 1"
    )
    return None if row is None else (int(row["tx"]), int(row["position"]))


async def node_hashes(conn: Conn, nodes: Iterable[Node]) -> dict[Node, Hash]:
    """The stored hashes of these complete nodes; MissingNodes when any is absent."""
    wanted = sorted(set(nodes))
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT q.level, q.idx, coalesce(l.leaf_hash, n.hash) AS hash "
        "FROM unnest($1::smallint[], $2::bigint[]) AS q(level, idx) "
        "LEFT JOIN log_leaves l ON q.level = 0 AND l.leaf_index = q.idx "
        "LEFT JOIN log_nodes n ON q.level > 0 AND n.level = q.level AND n.idx = q.idx",
        [level for level, _ in wanted],
        [index for _, index in wanted],
    )
    found = {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows if r["hash"] is not None}
    if len(found) != len(wanted):
        raise MissingNodes(f"{len(wanted) - len(found)} of {len(wanted)} node hashes are missing")
    return found


async def insert_leaves(
    conn: Conn, first: int, positions: Sequence[int], hashes: Sequence[Hash]
) -> None:
    # COPY: a batch is thousands of rows, and COPY takes them in one stream.
    records = zip(range(first, first + len(positions)), positions, hashes, strict=True)
    await conn.copy_records_to_table(
        "log_leaves", columns=["leaf_index", "position", "leaf_hash"], records=records
    )


async def insert_nodes(
    conn: Conn, levels: Sequence[int], indexes: Sequence[int], hashes: Sequence[Hash]
) -> None:
    if levels:
        await conn.copy_records_to_table(
            "log_nodes",
            columns=["level", "idx", "hash"],
            records=zip(levels, indexes, hashes, strict=True),
        )


def _checkpoint(row: Any) -> StoredCheckpoint | None:
    if row is None:
        return None
    return StoredCheckpoint(int(row["tree_size"]), bytes(row["root_hash"]), row["note"])


async def latest_checkpoint(conn: Conn) -> StoredCheckpoint | None:
    return _checkpoint(
        await conn.fetchrow(
            "SELECT tree_size, root_hash, note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1"
        )
    )


async def checkpoint_at(conn: Conn, size: int) -> StoredCheckpoint | None:
    return _checkpoint(
        await conn.fetchrow(
            "SELECT tree_size, root_hash, note FROM log_checkpoints WHERE tree_size = $1", size
        )
    )


async def insert_checkpoint(conn: Conn, size: int, root: Hash, note: str) -> None:
    await conn.execute(
        "INSERT INTO log_checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3)",
        size,
        root,
        note,
    )


async def tile(conn: Conn, level: int, index: int, width: int) -> bytes:
    """The `width` hashes of tile (level, index), concatenated: nodes at tree level 8 * level."""
    first = index * TILE_WIDTH
    if level == 0:
        rows = await conn.fetch(
            "SELECT leaf_hash AS hash FROM log_leaves "
            "WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index",
            first,
            first + width,
        )
    else:
        rows = await conn.fetch(
            "SELECT hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
            level * TILE_HEIGHT,
            first,
            first + width,
        )
    if len(rows) != width:
        raise MissingNodes(f"tile {level}/{index} has {len(rows)} of {width} hashes stored")
    return b"".join(bytes(r["hash"]) for r in rows)


async def unintegrated(conn: Conn) -> tuple[int, float | None]:
    """How many events are not leaves yet, and the age in seconds of the oldest of them."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, extract(epoch FROM now() - min(e.recorded_at)) AS age "
        "FROM events e WHERE NOT EXISTS "
        "(SELECT 1 FROM log_leaves l WHERE l.position = e.position)"
    )
    age = row["age"]
    return int(row["n"]), None if age is None else float(age)
