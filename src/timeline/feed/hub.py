"""One process, one connection that LISTENs and reads the tail, fanned out to every subscriber.

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
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.feed.filters import FeedFilter
from timeline.feed.notify import CHANNEL
from timeline.feed.shape import LIVE_CURSOR, LiveEvent, live_columns, live_events
from timeline.store.cursor import encode_cursor
from timeline.store.db import asyncpg_dsn
from timeline.store.feed import HORIZON, read_feed_rows, store_id

log = logging.getLogger(__name__)

Key = tuple[int, int]

# Run on the hub's own connection (the LISTEN one): no pool checkout on the delivery path.
_END = (
    "SELECT tx_id::text::bigint, position FROM events "
    f"WHERE tx_id < {HORIZON} "
    "ORDER BY tx_id DESC, position DESC LIMIT 1"
)

# Committed events past the hub's cursor after it read to the horizon: held back by an
# older transaction still open (whose end sends no wake-up), or released since the read.
# Either way, read again soon. (Asking only for held-back ones raced: a blocker ending
# between the read and this question left a readable event unread until the idle poll.)
_UNREAD = (
    "SELECT EXISTS (SELECT 1 FROM events "
    "WHERE (tx_id, position) > (CAST(CAST($1 AS text) AS xid8), $2))"
)

PAGE = 1000

# While committed events wait behind the horizon, nothing announces their release (the
# transaction holding them back may only read, or roll back): poll, first every few
# milliseconds, backing off to FAST_POLL_MAX, and after FAST_POLL_BUDGET seconds of that,
# every SLOW_POLL, so a long transaction costs a few queries a second, not hundreds.
FAST_POLL = 0.002
FAST_POLL_MAX = 0.02
FAST_POLL_BUDGET = 2.0
SLOW_POLL = 0.25


class Subscription:
    """A subscriber's bounded buffer of entries, and the flag that wakes it."""

    def __init__(self, feed_filter: FeedFilter, capacity: int) -> None:
        self.filter = feed_filter
        self.capacity = capacity
        self.entries: deque[LiveEvent] = deque()
        self.wake = asyncio.Event()
        self.dropped = False
        self.closed = False

    def offer(self, entries: list[LiveEvent]) -> bool:
        """Buffer the wanted entries; False (and dropped) when they do not fit."""
        wanted = [e for e in entries if self.filter.matches(e)]
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
        listen = await self._connect()
        row = await listen.fetchrow(_END)
        self.key = (row[0], row[1]) if row else (0, 0)
        self.cursor = encode_cursor(self.store, *self.key)
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

    async def _connect(self) -> asyncpg.Connection:
        self._listen = listen = await asyncpg.connect(self.dsn)
        await listen.add_listener(CHANNEL, self._on_notify)
        return listen

    def _on_notify(self, _conn: object, pid: int, _channel: str, _payload: object) -> None:
        if pid != self.ignore_pid:
            self._wake.set()

    async def _follow(self) -> None:
        delay = self.idle_poll
        held_since: float | None = None
        loop = asyncio.get_running_loop()
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
            if not held:
                held_since, delay = None, self.idle_poll
            elif held_since is None:
                held_since, delay = loop.time(), FAST_POLL
            elif loop.time() - held_since < FAST_POLL_BUDGET:
                delay = min(delay * 2, FAST_POLL_MAX)
            else:
                delay = SLOW_POLL

    async def _skip_to_end(self) -> bool:
        """With no subscriber, move to the feed's end without reading it; False if one came.

        A stream registers first and then catches up from its own cursor, so any
        subscriber that registers after this jump reads past its new end itself.
        """
        row = await self._connection().fetchrow(_END)
        if self._subscribers:
            return False  # one registered while we asked: it may be behind the end
        if row is not None and (row[0], row[1]) > self.key:
            self.key = (row[0], row[1])
            self.cursor = encode_cursor(self.store, *self.key)
        return True

    async def _read_new(self) -> bool:
        """Fan out everything new; True when committed events are left unread (held back)."""
        # Nobody to deliver to: decoding everything written (an import, say) would be waste.
        if not self._subscribers and await self._skip_to_end():
            return await self._unread()
        while True:
            page = await read_feed_rows(
                self._connection(),
                self.store,
                self.cursor,
                PAGE,
                columns=live_columns(self.store),
                cursor_column=LIVE_CURSOR,
            )
            if page.rows:
                entries = live_events(page)
                self.cursor = page.next_cursor
                self.key = entries[-1].key
                self._fan_out(entries)
            if page.at_horizon:
                break
        # Asked after the fan-out, so delivery never waits for it.
        return await self._unread()

    async def _unread(self) -> bool:
        tx, pos = self.key
        return bool(await self._connection().fetchval(_UNREAD, str(tx), pos))

    def _connection(self) -> asyncpg.Connection:
        assert self._listen is not None, "the hub reconnects before it reads"
        return self._listen

    def _fan_out(self, entries: list[LiveEvent]) -> None:
        for sub in list(self._subscribers):
            if not sub.offer(entries):
                self._subscribers.discard(sub)
                self.drops += 1
