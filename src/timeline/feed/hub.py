"""One process, one connection that LISTENs and reads the tail, fanned out to every subscriber.

Order and completeness come from the store, never from a notification: a
wake-up only makes the hub read the feed from its own cursor (the store's
gap-free read), and each subscriber receives those entries, filtered, into a
bounded buffer. Live subscribers are all at the hub's cursor, so one shared
read is the same as each reading from its own cursor, without a query per
subscriber per commit. A subscriber whose buffer fills (a stalled client) is
dropped from the hub, its buffer freed; its stream then catches up from the
store by its own cursor, as a reconnecting client would.

The connection is the hub's own (store.db.connect_dedicated, with the API's
timeouts, so a frozen server times a read out). Whenever it fails, for any
reason, the hub drops it and connects again, backing off from 0.1 s to 2 s
while the database is away; then it reads from its cursor as after any
wake-up, so the wake-ups lost meanwhile cost nothing and a live subscriber
misses no event. An outage is logged once, at warning, and its end at info.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.background import backoff, stop
from timeline.feed.filters import FeedFilter
from timeline.feed.notify import CHANNEL
from timeline.feed.shape import CURSOR, LiveEvent, live_columns, live_events
from timeline.feed.subscription import Subscription
from timeline.store.cursor import encode_cursor
from timeline.store.db import API_TIMEOUTS, Timeouts, connect, connect_dedicated, wait_closed
from timeline.store.feed import (
    FEED_BEYOND,
    FEED_END,
    FEED_END_AND_HELD,
    read_feed_rows,
    store_id,
)
from timeline.store.lost import describe, is_lost

log = logging.getLogger(__name__)

Key = tuple[int, int]

APPLICATION = "timeline-feed"
PAGE = 1000

# While committed events wait behind the horizon, nothing announces their release (the
# transaction holding them back may only read, or roll back): poll, first every few
# milliseconds, backing off to FAST_POLL_MAX, and after FAST_POLL_BUDGET seconds of that,
# every SLOW_POLL, so a long transaction costs a few queries a second, not hundreds.
FAST_POLL = 0.002
FAST_POLL_MAX = 0.02
FAST_POLL_BUDGET = 2.0
SLOW_POLL = 0.25


class Hub:
    """The process's LISTEN connection and tail reader; subscribers register here."""

    def __init__(
        self,
        engine: AsyncEngine,
        database_url: str,
        *,
        capacity: int = 1000,
        idle_poll: float = 5.0,
        timeouts: Timeouts = API_TIMEOUTS,
        catch_up_slots: int = 4,
        max_streams: int = 1000,
    ) -> None:
        self.engine = engine
        self.max_streams = max_streams
        self.database_url = database_url
        self.timeouts = timeouts
        self.capacity = capacity
        self.idle_poll = idle_poll
        self.store = ""
        self.cursor = ""
        self.key: Key = (0, 0)
        self.closing = False
        self.ignore_pid: int | None = None  # our own notifier: we were woken directly
        self._subscribers: set[Subscription] = set()
        self.streams = 0  # open SSE streams, live or catching up (FeedStream counts itself)
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        # Streams catching up share the pool with every other request: a burst of
        # them (clients reconnecting after a restart) waits here, not in the pool.
        self._catch_up_slots = asyncio.Semaphore(catch_up_slots)
        self._listen: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    @property
    def connected(self) -> bool:
        return self._listen is not None and not self._listen.is_closed()

    async def start(self) -> None:
        """Learn the store's id and the feed's end, then listen and follow it."""
        async with connect(self.engine) as conn:
            self.store = await store_id(conn)
        listen = await self._connect()
        row = await listen.fetchrow(FEED_END)
        self._move_to((row["tx_id"], row["position"]) if row else (0, 0))
        self._task = asyncio.create_task(self._follow(), name="timeline-feed-hub")

    def end_streams(self) -> None:
        """End every subscriber's stream now, and refuse new ones (the server is stopping)."""
        self.closing = True
        self._closed.set()
        for sub in list(self._subscribers):
            sub.closed = True
            sub.wake.set()
        self._subscribers.clear()

    async def close(self) -> None:
        """End every stream, stop following and close the connection."""
        self.end_streams()
        await stop(self._task)
        self._task = None
        await wait_closed(self._listen)
        self._listen = None

    async def pause(self, seconds: float) -> None:
        """Sleep up to `seconds`, less if the hub closes meanwhile."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closed.wait()

    @contextlib.asynccontextmanager
    async def catch_up_slot(self) -> AsyncIterator[None]:
        async with self._catch_up_slots:
            yield

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
        listen = await connect_dedicated(
            self.database_url, application=APPLICATION, timeouts=self.timeouts
        )
        try:
            await listen.add_listener(CHANNEL, self._on_notify)
        except BaseException:
            listen.terminate()
            raise
        # A connection the server closes (a restart, pg_terminate_backend) wakes the
        # hub at once, to reconnect, rather than at its next read.
        listen.add_termination_listener(self._on_terminated)
        self._listen = listen
        return listen

    def _drop(self) -> None:
        """Forget the connection; never wait on a server that may not answer."""
        if self._listen is not None:
            self._listen.terminate()
            self._listen = None

    def _on_notify(self, _conn: object, pid: int, _channel: str, _payload: object) -> None:
        if pid != self.ignore_pid:
            self._wake.set()

    def _on_terminated(self, conn: object) -> None:
        if conn is self._listen:
            self._wake.set()

    async def _follow(self) -> None:
        delay = self.idle_poll
        held_since: float | None = None
        failures = 0  # failed tries in a row: the database is away
        loop = asyncio.get_running_loop()
        while not self.closing:
            if failures:
                await self.pause(backoff(failures))  # wake-ups do not hurry a retry
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            self._wake.clear()
            try:
                if not self.connected:
                    self._drop()
                    await self._connect()
                    # Wake-ups sent while we were away are lost: this read covers them.
                held = await self._read_new()
            except Exception as error:
                self._drop()
                failures += 1
                if failures == 1:
                    if is_lost(error):
                        reason = describe(error)
                        log.warning("feed hub: database unavailable (%s); reconnecting", reason)
                    else:
                        log.exception("feed hub: read failed; reconnecting")
                else:
                    log.debug("feed hub: still unavailable (%s)", describe(error))
                continue
            if failures:
                log.info("feed hub: reconnected after %d failed tries", failures)
                failures = 0
            if not held:
                held_since, delay = None, self.idle_poll
            elif held_since is None:
                held_since, delay = loop.time(), FAST_POLL
            elif loop.time() - held_since < FAST_POLL_BUDGET:
                delay = min(delay * 2, FAST_POLL_MAX)
            else:
                delay = SLOW_POLL

    def _move_to(self, key: Key) -> None:
        self.key = key
        self.cursor = encode_cursor(self.store, *key)

    async def _read_new(self) -> bool:
        """Fan out everything new; True when committed events are left unread (held back)."""
        # Nobody to deliver to: decoding everything written (an import, say) would be
        # waste; move to the end instead, in one statement of two short index walks.
        # A stream registers first and then catches up from its own cursor, so one that
        # registers after this jump reads past its new end itself; one that registered
        # while we asked may be behind it, so then read as usual.
        if not self._subscribers:
            row = await self._connection().fetchrow(FEED_END_AND_HELD)
            if not self._subscribers:
                tx, held = row["tx_id"], row["held"]
                end = (tx, row["position"]) if tx is not None else (0, 0)
                if end > self.key:
                    self._move_to(end)
                elif end < self.key:
                    return await self._unread()  # an end behind us: ask about ours
                return bool(held)
        while True:
            page = await read_feed_rows(
                self._connection(),
                self.store,
                self.cursor,
                PAGE,
                columns=live_columns(self.store),
                cursor_column=CURSOR,
            )
            if page.rows:
                entries = live_events(page)
                self.cursor = page.next_cursor
                self.key = entries[-1].key
                self._fan_out(entries)
            if page.at_horizon:
                break
        # Asked after the fan-out, so delivery never waits for it. Committed events past
        # the cursor after reading to the horizon are held back by an older transaction
        # still open (whose end sends no wake-up), or released since the read. Either way,
        # read again soon. (Asking only for held-back ones raced: a blocker ending between
        # the read and this question left a readable event unread until the idle poll.)
        return await self._unread()

    async def _unread(self) -> bool:
        tx, pos = self.key
        return await self._connection().fetchrow(FEED_BEYOND, str(tx), pos) is not None

    def _connection(self) -> asyncpg.Connection:
        assert self._listen is not None, "the hub reconnects before it reads"
        return self._listen

    def _fan_out(self, entries: list[LiveEvent]) -> None:
        for sub in list(self._subscribers):
            if not sub.offer(entries):
                self._subscribers.discard(sub)
