"""Wake-ups: a NOTIFY on one channel, sent after commit and never inside a writing transaction.

A wake-up carries nothing: every reader reads the store from its own cursor,
so a lost or merged notification costs latency, never an event.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from timeline.background import stop
from timeline.store.db import API_TIMEOUTS, CLI_TIMEOUTS, Timeouts, connect_dedicated, wait_closed
from timeline.store.lost import describe, is_lost

CHANNEL = "timeline_feed"
_NOTIFY = f"NOTIFY {CHANNEL}"

APPLICATION = "timeline-feed-notify"

# Retrying a wake-up the database did not take: 0.1 s, doubling up to 2 s.
RETRY_FIRST = 0.1
RETRY_MAX = 2.0

log = logging.getLogger(__name__)


class Notifier:
    """Sends at most one NOTIFY per `interval` seconds, however many commits poke it.

    Its connection is its own (store.db.connect_dedicated). When it fails, the
    notifier connects again, backing off from 0.1 s to 2 s, and the wake-up it
    owes is sent once the database is back, so other processes' readers hear of
    the last commits before the outage without waiting for their poll.
    """

    def __init__(
        self, database_url: str, *, interval: float = 0.002, timeouts: Timeouts = API_TIMEOUTS
    ) -> None:
        self.database_url = database_url
        self.interval = interval
        self.timeouts = timeouts
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
        await stop(self._task)
        self._task = None
        await wait_closed(self._conn)
        self._conn = None

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._drop()
            self._conn = await connect_dedicated(
                self.database_url, application=APPLICATION, timeouts=self.timeouts
            )
            self.pid = self._conn.get_server_pid()
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await (await self._connection()).execute(_NOTIFY)
            except Exception as error:
                # Any failure: a closed or reset connection, a refused or timed-out connect,
                # a server shutting down. Readers poll as a fallback, so this only delays them.
                self._drop()
                self._pending.set()  # still owed
                failures += 1
                if failures == 1 and is_lost(error):
                    reason = describe(error)
                    log.warning("feed wake-ups: database unavailable (%s); retrying", reason)
                elif failures == 1:
                    log.exception("feed wake-ups: NOTIFY failed; retrying")
                await asyncio.sleep(min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX))
                continue
            if failures:
                log.info("feed wake-ups: reconnected after %d failed tries", failures)
                failures = 0
            await asyncio.sleep(self.interval)


async def wake_readers(database_url: str) -> None:
    """After a command outside the API has committed (`demo load`, `import`): wake every
    live reader now rather than at its idle poll. A failure is logged, not raised: the
    events are committed, and a reader that misses the wake-up reads them at its next poll."""
    try:
        await send_wakeup(database_url)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        log.warning("feed wake-up not sent (%s); readers see the events at their next poll", error)


async def send_wakeup(database_url: str) -> None:
    """Wake every feed reader of this database, from any process (CLI writers, imports)."""
    conn = await connect_dedicated(
        database_url, application="timeline-wakeup", timeouts=CLI_TIMEOUTS
    )
    try:
        await conn.execute(_NOTIFY)
    finally:
        await wait_closed(conn)
