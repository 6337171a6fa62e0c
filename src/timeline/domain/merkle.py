"""RFC 9162 (RFC 6962) Merkle tree math: hashes, roots, proofs and their checks. No I/O.

A node is named (level, index): the complete subtree of 2**level leaves starting
at leaf index * 2**level. Every hash a proof or a tile needs is either such a
node or the root of a tree's ragged right edge, which is the fold of the
complete nodes that decompose it (`decompose`). So the store keeps only
complete nodes, and a proof is planned here as lists of nodes (`Plan`) that the
store fetches in one query and `resolve` folds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

Hash = bytes
Node = tuple[int, int]  # (level, index)
# One proof hash: the complete nodes whose right-to-left fold is it.
Plan = list[list[Node]]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> Hash:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def fold(hashes: Sequence[Hash]) -> Hash:
    """The root of consecutive complete subtrees of decreasing size, folded right to left."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def decompose(lo: int, hi: int) -> list[Node]:
    """The complete nodes, largest first, that make up leaves [lo, hi); lo must be aligned
    to a power of two at least hi - lo (as every subtree of the RFC's recursion is)."""
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def root_plan(size: int) -> list[Node]:
    return decompose(0, size)


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]), deepest hash first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    plan: Plan = []
    lo, hi = 0, size
    # Walk down from the root, then reverse: the RFC lists the leaf's sibling first.
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            plan.append(decompose(lo + k, hi))
            hi = lo + k
        else:
            plan.append(decompose(lo, lo + k))
            lo = lo + k
    plan.reverse()
    return plan


def consistency_plan(old: int, new: int) -> Plan:
    """RFC 9162 §2.1.4.1 PROOF(old, D[new]); empty when old is 0 or equals new."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    plan: Plan = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            plan.append(decompose(lo + k, hi))
            hi = lo + k
        else:
            plan.append(decompose(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        plan.append(decompose(lo, hi))
    plan.reverse()
    return plan


def nodes_of(plan: Iterable[Sequence[Node]]) -> set[Node]:
    return {node for part in plan for node in part}


def resolve(plan: Plan, hashes: Mapping[Node, Hash]) -> list[Hash]:
    """The proof's hashes from the node hashes a store returned for `nodes_of(plan)`."""
    return [fold([hashes[node] for node in part]) for part in plan]


def verify_inclusion(leaf: Hash, index: int, size: int, proof: Sequence[Hash], root: Hash) -> bool:
    """RFC 9162 §2.1.3.2: `leaf` is at `index` in the tree of `size` whose root is `root`."""
    if not 0 <= index < size:
        return False
    sides = _sides(index, size - 1, len(proof))
    if sides is None:
        return False
    r = leaf
    for p, left in zip(proof, sides, strict=True):
        r = node_hash(p, r) if left else node_hash(r, p)
    return r == root


def verify_consistency(
    old: int, new: int, old_root: Hash, new_root: Hash, proof: Sequence[Hash]
) -> bool:
    """RFC 9162 §2.1.4.2: the tree of size `new` extends the tree of size `old`."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    sides = _sides(fn, sn, len(path) - 1)
    if sides is None:
        return False
    fr = sr = path[0]
    for c, left in zip(path[1:], sides, strict=True):
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    return fr == old_root and sr == new_root


def _sides(fn: int, sn: int, count: int) -> list[bool] | None:
    """The walk both RFC 9162 checks share, from node `fn` of a tree whose last node is `sn`.

    For each of `count` proof hashes, whether it is the left sibling; None when
    the walk does not end at the root after exactly `count` steps.
    """
    sides: list[bool] = []
    for _ in range(count):
        if sn == 0:
            return None
        left = bool(fn & 1) or fn == sn
        if left and not fn & 1:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        sides.append(left)
        fn >>= 1
        sn >>= 1
    return sides if sn == 0 else None


class Frontier:
    """The right edge of a growing tree: append leaves, get each new complete node once.

    It holds the complete nodes that decompose [0, size) (at most 64), so
    appending costs one hash per leaf plus one per node it completes, and the
    root is their fold.
    """

    def __init__(self, size: int = 0, nodes: Sequence[Hash] = ()) -> None:
        plan = root_plan(size)
        if len(plan) != len(nodes):
            raise ValueError(f"a tree of size {size} has {len(plan)} edge nodes, not {len(nodes)}")
        self.size = size
        self._edge: list[tuple[int, Hash]] = [
            (level, h) for (level, _), h in zip(plan, nodes, strict=True)
        ]

    def append(self, leaf: Hash, emit: Callable[[int, int, Hash], None]) -> None:
        """Add a leaf hash; `emit(level, index, hash)` for every node it completes above it."""
        level, h = 0, leaf
        index = self.size
        while self._edge and self._edge[-1][0] == level:
            _, left = self._edge.pop()
            h = node_hash(left, h)
            level += 1
            index >>= 1
            emit(level, index, h)
        self._edge.append((level, h))
        self.size += 1

    def root(self) -> Hash:
        return fold([h for _, h in self._edge])


def root_of(leaves: Sequence[Hash]) -> Hash:
    """The root of a tree of these leaf hashes, the RFC's recursion (for tests and checks)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


# -- tlog-tiles: tiles of height 8, each up to 256 hashes of one level ----------

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT


def tile_path_index(n: int) -> str:
    """N of a tile path: three-digit groups, every one but the last prefixed with x."""
    digits = str(n)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def parse_tile_index(parts: Sequence[str]) -> int:
    """The inverse of tile_path_index, canonical form only; ValueError for anything else."""
    if not 1 <= len(parts) <= 7 or not all(re.fullmatch(r"x?[0-9]{3}", p) for p in parts):
        raise ValueError(
            "a tile index is xNNN/.../NNN: three-digit groups, x before all but the last"
        )
    n = int("".join(p.removeprefix("x") for p in parts))
    if tile_path_index(n) != "/".join(parts):
        raise ValueError(f"the tile index is written {tile_path_index(n)}")
    return n


def tile_width(level: int, index: int, size: int) -> int:
    """How many hashes tile (level, index) holds in a tree of `size` leaves (0 when none)."""
    hashes_at_level = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, hashes_at_level - index * TILE_WIDTH))
