"""One process, one LISTEN connection, one tail read per wake-up, fanned out to every subscriber.

Order and completeness come from the store, never from a notification: a
wake-up only makes the hub read the feed from its own cursor (the store's
gap-free read), and each subscriber receives those entries, filtered, into a
bounded buffer. Live subscribers are all at the hub's cursor, so one shared
read is the same as each reading from its own cursor, without a query per
subscriber per commit. A subscriber whose buffer fills (a stalled client) is
dropped from the hub, its buffer freed; its stream then catches up from the
store by its own cursor, as a reconnecting client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.feed.filters import FeedFilter
from timeline.feed.notify import CHANNEL
from timeline.store.cursor import encode_cursor
from timeline.store.engine import asyncpg_dsn
from timeline.store.feed import FeedEntry, read_feed, store_id

log = logging.getLogger(__name__)

Key = tuple[int, int]

_END = text(
    "SELECT tx_id::text AS tx, position FROM events "
    "WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot()) "
    "ORDER BY tx_id DESC, position DESC LIMIT 1"
)

# Committed events beyond the horizon: an older transaction is still open, so
# they will become readable when it ends, and that end sends no wake-up.
_HELD_BACK = text(
    "SELECT EXISTS (SELECT 1 FROM events "
    "WHERE (tx_id, position) > (CAST(CAST(:tx AS text) AS xid8), :pos) "
    "AND tx_id >= pg_snapshot_xmin(pg_current_snapshot()))"
)

PAGE = 1000


def key_of(entry: FeedEntry) -> Key:
    return (entry.recorded.tx_id, entry.recorded.position)


class Subscription:
    """A subscriber's bounded buffer of entries, and the flag that wakes it."""

    def __init__(self, feed_filter: FeedFilter, capacity: int) -> None:
        self.filter = feed_filter
        self.capacity = capacity
        self.entries: deque[FeedEntry] = deque()
        self.wake = asyncio.Event()
        self.dropped = False
        self.closed = False

    def offer(self, entries: list[FeedEntry]) -> bool:
        """Buffer the wanted entries; False (and dropped) when they do not fit."""
        wanted = [e for e in entries if self.filter.matches(e.recorded)]
        if not wanted:
            return True
        if len(self.entries) + len(wanted) > self.capacity:
            self.dropped = True
            self.entries.clear()
            self.wake.set()
            return False
        self.entries.extend(wanted)
        self.wake.set()
        return True


class Hub:
    """The process's LISTEN connection and tail reader; subscribers register here."""

    def __init__(
        self,
        engine: AsyncEngine,
        database_url: str,
        *,
        capacity: int = 1000,
        idle_poll: float = 5.0,
    ) -> None:
        self.engine = engine
        self.dsn = asyncpg_dsn(database_url)
        self.capacity = capacity
        self.idle_poll = idle_poll
        self.store = ""
        self.cursor = ""
        self.key: Key = (0, 0)
        self.closing = False
        self.drops = 0
        self.ignore_pid: int | None = None  # our own notifier: we were woken directly
        self._subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._listen: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def start(self) -> None:
        """Learn the store's id and the feed's end, then listen and follow it."""
        async with self.engine.connect() as conn:
            self.store = await store_id(conn)
            row = (await conn.execute(_END)).first()
        self.key = (int(row.tx), int(row.position)) if row else (0, 0)
        self.cursor = encode_cursor(self.store, *self.key)
        await self._connect()
        self._task = asyncio.create_task(self._follow(), name="timeline-feed-hub")

    async def close(self) -> None:
        """Stop following and end every subscriber's stream."""
        self.closing = True
        for sub in list(self._subscribers):
            sub.closed = True
            sub.wake.set()
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._listen is not None:
            await self._listen.close()
            self._listen = None

    def wake(self) -> None:
        """Read the feed soon (a commit happened)."""
        self._wake.set()

    def subscribe(self, feed_filter: FeedFilter) -> Subscription:
        """A buffer that receives every entry the hub reads from now on."""
        sub = Subscription(feed_filter, self.capacity)
        sub.closed = self.closing
        if not self.closing:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    async def _connect(self) -> None:
        self._listen = await asyncpg.connect(self.dsn)
        await self._listen.add_listener(CHANNEL, self._on_notify)

    def _on_notify(self, _conn: object, pid: int, _channel: str, _payload: object) -> None:
        if pid != self.ignore_pid:
            self._wake.set()

    async def _follow(self) -> None:
        delay = self.idle_poll
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            try:
                if self._listen is None or self._listen.is_closed():
                    await self._connect()
                    # Wake-ups may have been lost while disconnected: the read below covers them.
                held = await self._read_new()
            except (TimeoutError, OSError, asyncpg.PostgresError) as error:
                log.warning("feed hub: %s; retrying", error)
                if self._listen is not None:
                    self._listen.terminate()
                self._listen = None
                delay = 1.0
                continue
            except Exception:
                log.exception("feed hub read failed; retrying")
                delay = 1.0
                continue
            # Held-back events surface when an old transaction ends, unannounced: poll for them.
            if held:
                delay = 0.01 if delay >= self.idle_poll else min(delay * 2, 0.5)
            else:
                delay = self.idle_poll

    async def _read_new(self) -> bool:
        """Fan out everything new; True when committed events wait behind the horizon."""
        while True:
            async with self.engine.connect() as conn:
                page = await read_feed(conn, self.store, self.cursor, PAGE)
                held = False
                if page.at_horizon:
                    tx, pos = self.key if not page.entries else key_of(page.entries[-1])
                    held = bool(await conn.scalar(_HELD_BACK, {"tx": str(tx), "pos": pos}))
            if page.entries:
                self.cursor = page.next_cursor
                self.key = key_of(page.entries[-1])
                self._fan_out(page.entries)
            if page.at_horizon:
                return held

    def _fan_out(self, entries: list[FeedEntry]) -> None:
        for sub in list(self._subscribers):
            if not sub.offer(entries):
                self._subscribers.discard(sub)
                self.drops += 1
