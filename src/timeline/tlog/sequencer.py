"""The sequencer: follows the feed past the tree, adds leaves and nodes, signs checkpoints.

One batch is one transaction under a transaction-scoped advisory lock, so any
number of integrators (`timeline serve` processes, `timeline log integrate`)
never interleave; the appending path takes no part in it and never waits for
it. The leaf of an event is SHA-256(0x00 ‖ its export line), the line (without
its newline)
`timeline export --format ndjson` writes, its log_index included, so an export
is checked offline. Before signing, a batch proves its new tree consistent with
the last checkpoint kept, from the stored hashes: a log whose stored past was
changed refuses to sign rather than sign a fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import SimpleNamespace
from typing import Any

import asyncpg
import msgspec

from timeline.background import stop
from timeline.domain import merkle
from timeline.feed.notify import CHANNEL
from timeline.store import feed as cols
from timeline.store import log as store
from timeline.store.cursor import encode_cursor
from timeline.store.db import CLI_TIMEOUTS, Timeouts, connect_dedicated
from timeline.store.lost import describe
from timeline.tlog.checkpoint import Checkpoint
from timeline.tlog.note import Signer
from timeline.transfer.ndjson import LogLine, encode_line

log = logging.getLogger(__name__)

BATCH = 5000


class LogInconsistent(RuntimeError):
    """The stored tree does not extend a checkpoint the log signed: it will not sign again."""


class Integrated(msgspec.Struct, frozen=True):
    size: int  # the tree's size after the batch
    added: int  # leaves added by it
    more: bool  # the feed had more settled events than one batch took


# The columns of an export line but its leaf index, as LogLine (and ROW_COLUMNS) name them.
_LINE_COLUMNS = tuple(name for name in LogLine.__struct_fields__ if name != "log_index")


def entry(row: Any, index: int) -> bytes:
    """The export line, without its newline, of a read_feed_rows row (ROW_COLUMNS) as leaf
    `index`: the bytes its leaf hashes."""
    fields = {name: row[name] for name in _LINE_COLUMNS}
    line = encode_line(SimpleNamespace(**fields, log_index=index))
    return line[:-1]


async def _store_id(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("SELECT store_id::text FROM store_meta LIMIT 1"))


async def _settled(
    conn: asyncpg.Connection, store_id: str, after: str | None, limit: int
) -> tuple[list[Any], bool]:
    """Up to `limit` settled feed rows after `after`, a page at a time; and whether more wait."""
    rows: list[Any] = []
    while len(rows) < limit:
        page = await cols.read_feed_rows(
            conn, store_id, after, min(cols.MAX_LIMIT, limit - len(rows))
        )
        rows += page.rows
        if page.at_horizon:
            return rows, False
        after = page.next_cursor
    return rows, True


async def check_consistent(
    conn: asyncpg.Connection, signed: store.StoredCheckpoint, size: int, root: bytes
) -> None:
    """Raise LogInconsistent unless the stored tree of `size` (root `root`) extends `signed`."""
    if size < signed.size:
        raise LogInconsistent(
            f"the stored tree has {size} leaves, fewer than the signed checkpoint's "
            f"{signed.size}: the log's past was removed; refusing to sign"
        )
    plan = merkle.consistency_plan(signed.size, size)
    old_plan = merkle.root_plan(signed.size)
    try:
        hashes = await store.node_hashes(conn, merkle.nodes_of([*plan, old_plan]))
    except store.MissingNodes as error:
        raise LogInconsistent(
            f"the stored tree lacks the signed size {signed.size}: {error}"
        ) from None
    proof = merkle.resolve(plan, hashes)
    stored_old = merkle.fold([hashes[n] for n in old_plan])
    if stored_old != signed.root or not merkle.verify_consistency(
        signed.size, size, signed.root, root, proof
    ):
        raise LogInconsistent(
            f"the stored tree of size {size} does not extend the signed checkpoint of size "
            f"{signed.size}: the log's past was changed; refusing to sign"
        )


async def integrate_once(
    conn: asyncpg.Connection, signer: Signer, origin: str, *, limit: int = BATCH
) -> Integrated:
    """Add up to `limit` settled feed events as leaves and sign the grown tree: one transaction."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", store.INTEGRATE_LOCK)
        size = await store.tree_size(conn)
        key = await store.last_leaf_feed_key(conn)
        store_id = await _store_id(conn)
        after = encode_cursor(store_id, *key) if key else None
        rows, more = await _settled(conn, store_id, after, limit)
        if not rows:
            return Integrated(size, 0, False)
        signed = await store.latest_checkpoint(conn)
        edge = merkle.root_plan(size)
        edge_hashes = await store.node_hashes(conn, edge)
        frontier = merkle.Frontier(size, [edge_hashes[n] for n in edge])
        levels: list[int] = []
        indexes: list[int] = []
        nodes: list[bytes] = []

        def emit(level: int, index: int, h: bytes) -> None:
            levels.append(level)
            indexes.append(index)
            nodes.append(h)

        leaves = []
        for i, row in enumerate(rows):
            leaf = merkle.leaf_hash(entry(row, size + i))
            leaves.append(leaf)
            frontier.append(leaf, emit)
        await store.insert_leaves(conn, size, [row["position"] for row in rows], leaves)
        await store.insert_nodes(conn, levels, indexes, nodes)
        root = frontier.root()
        if signed is not None:
            await check_consistent(conn, signed, frontier.size, root)
        note = signer.sign(Checkpoint(origin, frontier.size, root).text())
        await store.insert_checkpoint(conn, frontier.size, root, note)
    return Integrated(frontier.size, len(leaves), more)


async def integrate(
    conn: asyncpg.Connection, signer: Signer, origin: str, *, limit: int = BATCH
) -> Integrated:
    """Integrate until the tree reaches the feed's horizon; the last batch's result, summed."""
    added = 0
    while True:
        result = await integrate_once(conn, signer, origin, limit=limit)
        added += result.added
        if not result.more:
            return Integrated(result.size, added, False)


class Sequencer:
    """`timeline serve`'s sequencer: the one process holding SEQUENCER_LOCK integrates.

    Woken by the feed's NOTIFY (sent after every commit), and by a poll every
    `poll` seconds in case a wake-up is lost or an event settles only when an
    unrelated transaction ends. After a batch it waits `pause` seconds before the
    next, so a busy store gets one batch (and one checkpoint) per `pause`, not one
    per commit. The others stand by, trying for the lock.
    """

    def __init__(
        self,
        database_url: str,
        signer: Signer,
        origin: str,
        *,
        poll: float = 0.25,
        pause: float = 0.1,
        standby: float = 2.0,
        timeouts: Timeouts = CLI_TIMEOUTS,
    ) -> None:
        self.database_url = database_url
        self.signer = signer
        self.origin = origin
        self.poll = poll
        self.pause = pause
        self.standby = standby
        self.timeouts = timeouts
        self.active = False
        self.last: Integrated | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="timeline-log-sequencer")

    async def stop(self) -> None:
        await stop(self._task)
        self._task = None

    async def _run(self) -> None:
        delay = self.standby
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect_dedicated(
                    self.database_url, application="timeline-log-sequencer", timeouts=self.timeouts
                )
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", store.SEQUENCER_LOCK):
                    self.active = True
                    await self._follow(conn)
            except asyncio.CancelledError:
                raise
            except LogInconsistent as error:
                log.error("log sequencer stopped signing: %s", error)
                delay = 60.0
            except Exception as error:
                log.warning("log sequencer: %s; trying again", describe(error))
            finally:
                self.active = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=1))
            await asyncio.sleep(delay)

    async def _follow(self, conn: asyncpg.Connection) -> None:
        await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
        while True:
            self._wake.clear()
            started = time.monotonic()
            result = await integrate_once(conn, self.signer, self.origin)
            if result.added:
                self.last = result
                log.debug("log: %d leaves in %.3f s", result.added, time.monotonic() - started)
            if result.more:
                continue
            if result.added:
                # Under load, commits arrive faster than batches are worth making: wait a
                # moment so the next batch takes them together (one checkpoint for many).
                await asyncio.sleep(max(0.0, started + self.pause - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
