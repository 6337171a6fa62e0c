"""One subscriber's server-sent events: catch up from the store, then go live from the hub.

When the database does not answer a catch-up read (down, restarting, frozen,
or the pool has no connection to spare), the stream stays open: it says so in
a comment, waits (0.1 s doubling to 2 s) and reads again, and a client sees
its events late, never twice or out of order. A live subscriber needs no read
of its own: the hub reconnects and reads from its cursor.

When the server stops, every stream ends cleanly: a last comment and a
`retry:` hint, then the end of the chunked body. The client reconnects (to
this server once it is back, or to another) with `Last-Event-ID` and misses
nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from litestar.response import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.background import backoff
from timeline.feed.filters import FeedFilter
from timeline.feed.hub import Hub, Key
from timeline.feed.shape import CURSOR, LiveEvent, live_columns, live_events
from timeline.feed.subscription import Subscription
from timeline.store.cursor import decode_cursor
from timeline.store.db import connect
from timeline.store.errors import DatabaseUnavailable
from timeline.store.feed import read_feed_rows

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000
CATCH_UP_PAGE = 500

UNAVAILABLE = "database unavailable; retrying"
GOODBYE = "server shutting down; reconnect with Last-Event-ID"


class FeedStream:
    """The events after `cursor` that pass `feed_filter`, each exactly once, in feed order."""

    def __init__(
        self,
        hub: Hub,
        engine: AsyncEngine,
        cursor: str,
        feed_filter: FeedFilter,
        *,
        cloudevents: bool = False,
        private: bool = True,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.hub = hub
        self.engine = engine
        self.cursor = cursor
        self.key: Key = decode_cursor(hub.store, cursor)
        self.filter = feed_filter
        self.cloudevents = cloudevents
        self.private = private  # the reader may see whole metadata (feed/shape.py)
        self.heartbeat = heartbeat
        self._sub: Subscription | None = None

    async def messages(self) -> AsyncIterator[ServerSentEventMessage]:
        """The SSE messages: a retry hint, then events and heartbeats until shutdown."""
        self.hub.streams += 1  # counted here, where `finally` is sure to uncount it
        try:
            async for message in self._messages():
                yield message
        finally:
            self.hub.streams -= 1

    async def _messages(self) -> AsyncIterator[ServerSentEventMessage]:
        yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment="timeline feed")
        failures = 0
        try:
            while not self.hub.closing:
                sub = self._sub
                if sub is None or sub.dropped:
                    self._leave()
                    try:
                        async for message in self._join():
                            yield message
                    except DatabaseUnavailable:
                        self._leave()
                        failures += 1
                        # Also a keep-alive for the client while the database is away.
                        yield ServerSentEventMessage(data=None, comment=UNAVAILABLE)
                        await self.hub.pause(backoff(failures))
                        continue
                    failures = 0
                    continue
                if sub.closed:
                    break
                sub.wake.clear()
                while sub.entries and not sub.dropped:
                    entry = sub.entries.popleft()
                    if entry.key > self.key:
                        yield self._message(entry)
                if sub.dropped or sub.entries:
                    continue
                try:
                    # asyncio.timeout, not wait_for: no task per wait, and this runs per event.
                    async with asyncio.timeout(self.heartbeat):
                        await sub.wake.wait()
                except TimeoutError:
                    yield ServerSentEventMessage(data=None, comment="heartbeat")
            # Reached only when the hub closes: a client that hung up never gets here.
            yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment=GOODBYE)
        finally:
            self._leave()

    async def _join(self) -> AsyncIterator[ServerSentEventMessage]:
        """Catch up from the store and register with the hub, as self._sub."""
        # Read the backlog before registering, so the buffer does not fill with it.
        if self.key < self.hub.key:
            async for message in self._catch_up():
                yield message
        self._sub = self.hub.subscribe(self.filter)
        # The hub delivers everything past its cursor from now on. Only when it had read
        # past ours before we registered (while we caught up) is there a gap to read; a
        # stream that starts at the hub's cursor ("now") reads nothing at all.
        if self.key < self.hub.key:
            async for message in self._catch_up():
                yield message

    def _leave(self) -> None:
        if self._sub is not None:
            self.hub.unsubscribe(self._sub)
            self._sub = None

    async def _catch_up(self) -> AsyncIterator[ServerSentEventMessage]:
        while not self.hub.closing:
            # A pooled connection per page, released before yielding: a slow client holds
            # none. connect() discards a dead one and raises DatabaseUnavailable.
            async with self.hub.catch_up_slot(), connect(self.engine) as conn:
                page = await read_feed_rows(
                    conn,
                    self.hub.store,
                    self.cursor,
                    CATCH_UP_PAGE,
                    types=self.filter.types,
                    stream_type=self.filter.stream_type,
                    stream_id=self.filter.stream_id,
                    timeline=self.filter.timeline,
                    columns=live_columns(self.hub.store),
                    cursor_column=CURSOR,
                )
            for entry in live_events(page):
                yield self._message(entry)
            if page.at_horizon:
                return

    def _message(self, entry: LiveEvent) -> ServerSentEventMessage:
        self.cursor = entry.cursor
        self.key = entry.key
        return entry.message(self.hub.store, self.cloudevents, self.private)
