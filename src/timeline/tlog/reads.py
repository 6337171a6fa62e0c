"""What the log serves: checkpoints, tiles and proofs, from the stored hashes."""

from __future__ import annotations

from timeline.domain import merkle
from timeline.store import log as store
from timeline.store.log import Conn, StoredCheckpoint


class NotInTree(LookupError):
    """A size, index or tile past what the log holds; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


async def latest(conn: Conn) -> StoredCheckpoint | None:
    return await store.latest_checkpoint(conn)


async def kept(conn: Conn, size: int) -> StoredCheckpoint | None:
    return await store.checkpoint_at(conn, size)


async def _within(conn: Conn, size: int, field: str) -> None:
    have = await store.tree_size(conn)
    if size > have:
        raise NotInTree(field, f"{field}: the tree has {have} leaves, not {size}")


async def inclusion(conn: Conn, index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf `index` in the tree of `size` (size <= the tree's)."""
    await _within(conn, size, "size")
    plan = merkle.inclusion_plan(index, size)
    return merkle.resolve(plan, await store.node_hashes(conn, merkle.nodes_of(plan)))


async def consistency(conn: Conn, old: int, new: int) -> list[bytes]:
    """RFC 9162 consistency proof from the tree of `old` to the tree of `new`."""
    await _within(conn, new, "to")
    plan = merkle.consistency_plan(old, new)
    return merkle.resolve(plan, await store.node_hashes(conn, merkle.nodes_of(plan)))


async def tile(conn: Conn, level: int, index: int, width: int | None) -> bytes:
    """The tile's hashes; `width` None for a full tile. NotInTree when the tree lacks them."""
    have = merkle.tile_width(level, index, await store.tree_size(conn))
    wanted = merkle.TILE_WIDTH if width is None else width
    if have < wanted:
        raise NotInTree("tile", f"tile {level}/{index}: the tree holds {have} of its hashes")
    return await store.tile(conn, level, index, wanted)
