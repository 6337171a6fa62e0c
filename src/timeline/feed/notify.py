"""Wake-ups: a NOTIFY on one channel, sent after commit and never inside a writing transaction.

A wake-up carries nothing: every reader reads the store from its own cursor,
so a lost or merged notification costs latency, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from timeline.store.db import asyncpg_dsn

CHANNEL = "timeline_feed"
_NOTIFY = f"NOTIFY {CHANNEL}"

log = logging.getLogger(__name__)


class Notifier:
    """Sends at most one NOTIFY per `interval` seconds, however many commits poke it."""

    def __init__(self, database_url: str, *, interval: float = 0.002) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.interval = interval
        self.pid: int | None = None
        self._pending = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="timeline-feed-notifier")

    def poke(self) -> None:
        """Ask for a NOTIFY soon; cheap and safe to call after every commit."""
        self._pending.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.dsn)
                    self.pid = self._conn.get_server_pid()
                await self._conn.execute(_NOTIFY)
            except (OSError, asyncpg.PostgresError) as error:
                # Readers poll as a fallback, so a failed wake-up only delays them.
                log.warning("feed wake-up failed: %s", error)
                self._conn = None
                await asyncio.sleep(0.5)
            await asyncio.sleep(self.interval)


async def send_wakeup(database_url: str) -> None:
    """Wake every feed reader of this database, from any process (CLI writers, imports)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(_NOTIFY)
    finally:
        await conn.close()
