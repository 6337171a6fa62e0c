"""The sequencer: leaves in feed order, hashes as stored, checkpoints signed and consistent."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline, busy_writer
from tests.tlog.conftest import ORIGIN, superuser
from timeline.domain import merkle
from timeline.store import log as store
from timeline.store.db import asyncpg_dsn
from timeline.tlog.checkpoint import open_checkpoint
from timeline.tlog.note import Signer
from timeline.tlog.sequencer import LogInconsistent, Sequencer, integrate, integrate_once
from timeline.transfer.export import export_log


async def export_lines(engine: AsyncEngine) -> list[bytes]:
    return [line async for line in export_log(engine)]


async def test_each_export_line_is_its_leaf_and_the_checkpoint_signs_their_root(
    log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    for i in range(5):
        await append_timeline(log_engine, f"t{i}", count=3)
    result = await integrate(raw, signer, ORIGIN, limit=4)
    assert (result.size, result.added) == (15, 15)
    lines = await export_lines(log_engine)
    leaves = [merkle.leaf_hash(line.rstrip(b"\n")) for line in lines]
    stored = await raw.fetch("SELECT leaf_hash FROM log_leaves ORDER BY leaf_index")
    assert [bytes(r["leaf_hash"]) for r in stored] == leaves
    assert [b'"log_index":%d}' % i in line for i, line in enumerate(lines)] == [True] * 15
    latest = await store.latest_checkpoint(raw)
    assert latest is not None
    checkpoint = open_checkpoint(latest.note, signer.verifier(), ORIGIN)
    assert (checkpoint.size, checkpoint.root) == (15, merkle.root_of(leaves))
    # Batches of 4 signed sizes 4, 8, 12 and 15, every one kept.
    sizes = [r["tree_size"] for r in await raw.fetch("SELECT tree_size FROM log_checkpoints")]
    assert sorted(sizes) == [4, 8, 12, 15]


async def test_nothing_new_signs_nothing(raw: asyncpg.Connection, signer: Signer) -> None:
    assert (await integrate_once(raw, signer, ORIGIN)).added == 0
    assert await store.latest_checkpoint(raw) is None


async def test_stored_nodes_give_every_proof_of_every_signed_size(
    log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    for i in range(7):
        await append_timeline(log_engine, f"p{i}", count=i + 1)
        await integrate(raw, signer, ORIGIN)
    lines = await export_lines(log_engine)
    leaves = [merkle.leaf_hash(line.rstrip(b"\n")) for line in lines]
    sizes = [r["tree_size"] for r in await raw.fetch("SELECT tree_size FROM log_checkpoints")]
    for new in sizes:
        root = merkle.root_of(leaves[:new])
        for index in range(new):
            plan = merkle.inclusion_plan(index, new)
            proof = merkle.resolve(plan, await store.node_hashes(raw, merkle.nodes_of(plan)))
            assert merkle.verify_inclusion(leaves[index], index, new, proof, root)
        for old in sizes:
            if old <= new:
                plan = merkle.consistency_plan(old, new)
                proof = merkle.resolve(plan, await store.node_hashes(raw, merkle.nodes_of(plan)))
                old_root = merkle.root_of(leaves[:old])
                assert merkle.verify_consistency(old, new, old_root, root, proof)


async def test_concurrent_integrators_under_busy_writers_sign_one_consistent_history(
    log_engine: AsyncEngine, log_url: str, signer: Signer
) -> None:
    conns = [await asyncpg.connect(asyncpg_dsn(log_url)) for _ in range(3)]
    stop = asyncio.Event()

    async def integrator(conn: asyncpg.Connection) -> None:
        while not stop.is_set():
            await integrate_once(conn, signer, ORIGIN, limit=7)
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(integrator(c)) for c in conns]
    writers = [busy_writer(log_engine, f"w{k}", 25, seed=k) for k in range(4)]
    committed = [p for ps in await asyncio.gather(*writers) for p in ps]
    stop.set()
    await asyncio.gather(*tasks)
    await integrate(conns[0], signer, ORIGIN)
    raw = conns[0]
    positions = [r["position"] for r in await raw.fetch("SELECT position FROM log_leaves")]
    assert sorted(positions) == sorted(committed)  # every committed event once, nothing else
    lines = await export_lines(log_engine)
    leaves = [merkle.leaf_hash(line.rstrip(b"\n")) for line in lines]
    rows = await raw.fetch("SELECT tree_size, note FROM log_checkpoints ORDER BY tree_size")
    for row in rows:  # each signed root is the root of that prefix of today's export
        checkpoint = open_checkpoint(row["note"], signer.verifier())
        assert checkpoint.root == merkle.root_of(leaves[: row["tree_size"]])
    for conn in conns:
        await conn.close()


async def test_a_rewritten_history_is_never_signed(
    log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    await append_timeline(log_engine, "before", count=5)
    await integrate(raw, signer, ORIGIN)
    # An event is changed, the log's tree wiped, and the log asked to sign afresh.
    await superuser(
        raw,
        "events",
        'UPDATE events SET data = data || \'{"title": "forged"}\' '
        "WHERE position = (SELECT min(position) FROM events)",
    )
    await superuser(raw, "log_nodes", "TRUNCATE log_nodes")
    await superuser(raw, "log_leaves", "TRUNCATE log_leaves")
    await append_timeline(log_engine, "after", count=2)
    with pytest.raises(LogInconsistent, match="refusing to sign"):
        await integrate(raw, signer, ORIGIN, limit=3)  # smaller than the signed tree
    with pytest.raises(LogInconsistent, match="does not extend the signed checkpoint"):
        await integrate(raw, signer, ORIGIN)
    sizes = [r["tree_size"] for r in await raw.fetch("SELECT tree_size FROM log_checkpoints")]
    assert sizes == [5]  # nothing more signed, and the batches' leaves rolled back
    assert await store.tree_size(raw) == 0


async def test_a_changed_stored_node_makes_the_log_refuse_to_sign(
    log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    await append_timeline(log_engine, "before", count=5)
    await integrate(raw, signer, ORIGIN)
    await superuser(
        raw, "log_nodes", "UPDATE log_nodes SET hash = sha256(hash) WHERE level = 2 AND idx = 0"
    )
    await append_timeline(log_engine, "after", count=2)
    with pytest.raises(LogInconsistent, match="refusing to sign"):
        await integrate(raw, signer, ORIGIN)
    assert await store.tree_size(raw) == 5


async def test_the_log_tables_refuse_updates_and_deletes(
    log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    await append_timeline(log_engine, "fixed", count=2)
    await integrate(raw, signer, ORIGIN)
    for statement in (
        "UPDATE log_leaves SET leaf_hash = leaf_hash",
        "DELETE FROM log_nodes",
        "DELETE FROM log_checkpoints",
        "TRUNCATE log_checkpoints",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await raw.execute(statement)


async def test_of_several_sequencers_one_integrates_and_another_takes_over_when_it_stops(
    log_engine: AsyncEngine, log_url: str, signer: Signer
) -> None:
    sequencers = [Sequencer(log_url, signer, ORIGIN, standby=0.1, poll=0.05) for _ in range(3)]
    for sequencer in sequencers:
        await sequencer.start()

    async def actives(expected: int = 1) -> list[Sequencer]:
        for _ in range(100):
            found = [s for s in sequencers if s.active]
            if len(found) == expected:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"not {expected} active sequencer: {len(found)}")

    try:
        first = (await actives())[0]
        await append_timeline(log_engine, "one", count=3)
        for _ in range(100):
            if first.last is not None and first.last.size == 3:
                break
            await asyncio.sleep(0.05)
        assert first.last is not None
        assert first.last.size == 3
        await first.stop()
        sequencers.remove(first)
        second = (await actives())[0]
        await append_timeline(log_engine, "two", count=2)
        for _ in range(100):
            if second.last is not None and second.last.size == 5:
                break
            await asyncio.sleep(0.05)
        assert second.last is not None
        assert second.last.size == 5
    finally:
        for sequencer in sequencers:
            await sequencer.stop()
