"""One subscriber's server-sent events: catch up from the store, then go live from the hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from litestar.response import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.feed.filters import FeedFilter
from timeline.feed.hub import Hub, Key, Subscription
from timeline.feed.shape import LIVE_CURSOR, LiveEvent, live_columns, live_events
from timeline.store.cursor import decode_cursor
from timeline.store.feed import read_feed_rows

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 2000
CATCH_UP_PAGE = 500


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
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.hub = hub
        self.engine = engine
        self.cursor = cursor
        self.key: Key = decode_cursor(hub.store, cursor)
        self.filter = feed_filter
        self.cloudevents = cloudevents
        self.heartbeat = heartbeat

    async def messages(self) -> AsyncIterator[ServerSentEventMessage]:
        """The SSE messages: a retry hint, then events and heartbeats until shutdown."""
        yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment="timeline feed")
        sub: Subscription | None = None
        try:
            while not self.hub.closing:
                if sub is None or sub.dropped:
                    if sub is not None:
                        self.hub.unsubscribe(sub)
                    # Read the backlog before registering, so the buffer does not fill with it;
                    # then read once more, to cover what the hub read in between.
                    async for message in self._catch_up():
                        yield message
                    sub = self.hub.subscribe(self.filter)
                    async for message in self._catch_up():
                        yield message
                if sub.closed:
                    return
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
        finally:
            if sub is not None:
                self.hub.unsubscribe(sub)

    async def _catch_up(self) -> AsyncIterator[ServerSentEventMessage]:
        while True:
            # A connection per page, released before yielding: a slow client holds none.
            async with self.engine.connect() as conn:
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
                    cursor_column=LIVE_CURSOR,
                )
            for entry in live_events(page):
                yield self._message(entry)
            if page.at_horizon:
                return

    def _message(self, entry: LiveEvent) -> ServerSentEventMessage:
        self.cursor = entry.cursor
        self.key = entry.key
        return entry.message(self.hub.store, self.cloudevents)
