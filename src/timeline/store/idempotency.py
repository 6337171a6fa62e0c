"""Expired idempotency keys deleted, a small batch per transaction, so the feed never waits.

Every keyed write leaves a row in idempotency_keys; past its TTL the row only
takes space. Deleting them all in one statement would hold one transaction id
for as long as the delete runs, and the feed serves only transactions older
than the oldest still running (store/feed.py, HORIZON): a long purge would
stall every reader of the feed. So each batch is one call of
`timeline_purge_idempotency_keys` (migration 0008) on an autocommit
connection: a transaction of its own, ended before the next begins, with a
pause between batches that leaves the server to the writers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.background import stop
from timeline.store.db import connect, fetch

log = logging.getLogger("timeline.idempotency")

DEFAULT_BATCH = 500
_PURGE = "SELECT timeline_purge_idempotency_keys($1, $2)"


async def purge_expired_keys(
    engine: AsyncEngine,
    *,
    ttl: int,
    batch: int = DEFAULT_BATCH,
    pause: float = 0.01,
    after_batch: Callable[[int], Awaitable[None]] | None = None,
) -> int:
    """Delete every key older than `ttl` seconds, `batch` per transaction; how many went.

    `after_batch` is awaited with each batch's count once that batch has committed.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    total = 0
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with connect(autocommit) as conn:
        while True:
            deleted = int((await fetch(conn, _PURGE, ttl, batch))[0][0])
            total += deleted
            if after_batch is not None:
                await after_batch(deleted)
            if deleted < batch:
                return total
            await asyncio.sleep(pause)


class Purger:
    """Purges expired keys every `every` seconds while `timeline serve` runs (0: never)."""

    def __init__(self, engine: AsyncEngine, *, ttl: int, every: float) -> None:
        self.engine, self.ttl, self.every = engine, ttl, every
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.every > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="timeline-idempotency-purge")

    async def stop(self) -> None:
        await stop(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            try:
                deleted = await purge_expired_keys(self.engine, ttl=self.ttl)
                if deleted:
                    log.info("purged %d expired idempotency keys", deleted)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database away: try again next round
                log.warning("idempotency key purge failed: %s", error)
            await asyncio.sleep(self.every)
