"""The Merkle math against RFC 6962's reference vectors and, by property, against itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timeline.domain import merkle
from timeline.domain.merkle import Hash, Node

# The reference leaves and roots of certificate-transparency's merkle tree tests.
ENTRIES = [
    bytes.fromhex(h)
    for h in (
        *("", "00", "10", "2021", "3031", "40414243"),
        *("5051525354555657", "606162636465666768696a6b6c6d6e6f"),
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (1, 8): INCLUSION[(0, 8)],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
    (1, 1): [],
}


def node_table(leaves: list[Hash]) -> dict[Node, Hash]:
    """Every complete node of the tree, as a store would keep them (via Frontier)."""
    table: dict[Node, Hash] = {}
    frontier = merkle.Frontier()
    for i, leaf in enumerate(leaves):
        table[(0, i)] = leaf
        frontier.append(leaf, lambda level, index, h: table.__setitem__((level, index), h))
    return table


LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]
TABLE = node_table(LEAVES)


def test_roots_match_the_reference_for_every_size() -> None:
    for size in range(9):
        assert merkle.root_of(LEAVES[:size]).hex() == ROOTS[size]
        assert merkle.fold([TABLE[n] for n in merkle.root_plan(size)]).hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_inclusion_proofs_match_the_reference(index: int, size: int) -> None:
    proof = merkle.resolve(merkle.inclusion_plan(index, size), TABLE)
    assert [h.hex() for h in proof] == INCLUSION[(index, size)]
    assert merkle.verify_inclusion(LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY))
def test_consistency_proofs_match_the_reference(old: int, new: int) -> None:
    proof = merkle.resolve(merkle.consistency_plan(old, new), TABLE)
    assert [h.hex() for h in proof] == CONSISTENCY[(old, new)]
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=140).map(
    lambda entries: [merkle.leaf_hash(e) for e in entries]
)


@given(leaf_lists, st.data())
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(
    leaves: list[Hash], data: st.DataObject
) -> None:
    table = node_table(leaves)
    size = data.draw(st.integers(1, len(leaves)))
    root = merkle.root_of(leaves[:size])
    for index in range(size):
        proof = merkle.resolve(merkle.inclusion_plan(index, size), table)
        assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
        assert not merkle.verify_inclusion(b"\x07" * 32, index, size, proof, root)
        if proof:
            bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
            assert not merkle.verify_inclusion(leaves[index], index, size, bent, root)


@given(leaf_lists, st.data())
def test_every_consistency_proof_verifies_and_a_rewritten_past_does_not(
    leaves: list[Hash], data: st.DataObject
) -> None:
    table = node_table(leaves)
    new = len(leaves)
    new_root = merkle.root_of(leaves)
    for old in range(new + 1):
        old_root = merkle.root_of(leaves[:old])
        proof = merkle.resolve(merkle.consistency_plan(old, new), table)
        assert merkle.verify_consistency(old, new, old_root, new_root, proof)
        if old > 0:
            changed = data.draw(st.integers(0, old - 1))
            forged = list(leaves[:old])
            forged[changed] = merkle.leaf_hash(b"forged")
            forged_root = merkle.root_of(forged)
            assert not merkle.verify_consistency(old, new, forged_root, new_root, proof)


@given(leaf_lists)
def test_the_frontier_root_equals_the_rfc_recursion_at_every_size(leaves: list[Hash]) -> None:
    frontier = merkle.Frontier()
    for i, leaf in enumerate(leaves):
        frontier.append(leaf, lambda level, index, h: None)
        assert frontier.root() == merkle.root_of(leaves[: i + 1])
    plan = merkle.root_plan(len(leaves))
    table = node_table(leaves)
    resumed = merkle.Frontier(len(leaves), [table[n] for n in plan])
    extra = merkle.leaf_hash(b"next")
    resumed.append(extra, lambda level, index, h: None)
    assert resumed.root() == merkle.root_of([*leaves, extra])


def test_the_frontier_emits_each_complete_node_once() -> None:
    emitted: list[Node] = []
    frontier = merkle.Frontier()
    for i in range(1024):
        frontier.append(
            merkle.leaf_hash(bytes([i % 256])), lambda lv, ix, h: emitted.append((lv, ix))
        )
    assert len(emitted) == len(set(emitted)) == 1023  # every interior node of a full tree


@pytest.mark.parametrize(
    ("n", "path"), [(0, "000"), (67, "067"), (1234067, "x001/x234/067"), (1000, "x001/000")]
)
def test_tile_indexes_are_written_in_three_digit_groups(n: int, path: str) -> None:
    assert merkle.tile_path_index(n) == path
    assert merkle.parse_tile_index(path.split("/")) == n


@pytest.mark.parametrize("path", ["67", "x067", "000/067", "x000/067", "x01/234", "abc", ""])
def test_a_tile_index_not_in_canonical_form_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="tile index"):
        merkle.parse_tile_index(path.split("/"))


def test_tile_widths_follow_the_tree_size() -> None:
    assert merkle.tile_width(0, 0, 300) == 256
    assert merkle.tile_width(0, 1, 300) == 44
    assert merkle.tile_width(0, 2, 300) == 0
    assert merkle.tile_width(1, 0, 300) == 1
    assert merkle.tile_width(1, 0, 255) == 0
