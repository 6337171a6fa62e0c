"""`timeline relay nats`: the feed, in order, to a JetStream stream, exactly once per cursor.

The loop: take the lock, then read a page of the feed after the resume point
and publish each event, awaiting its ack before the next (so the stream holds
them in feed order whatever fails), with `Nats-Msg-Id` = the event's cursor;
save the checkpoint every `checkpoint_every` acks or `checkpoint_seconds`,
and when the feed is caught up.

Exactly once: the resume point is the id of the stream's last message (or the
saved checkpoint when the stream holds none of ours), so a restart publishes
again only what the broker does not have; and any event published twice within the stream's
duplicate window (a retried publish whose first ack was lost, or two relays
for a moment) is dropped by JetStream. In order: each relay publishes in feed
order and waits for each ack, so an event is first stored only after every
event before it has been.

Failures: a failed publish (NATS restarting, ack lost) is retried, same id,
with backoff, while nats-py reconnects; a lost database connection drops the
lock with it, so the relay starts again from taking the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from timeline.background import backoff
from timeline.feed.notify import CHANNEL
from timeline.feed.shape import CURSOR, JSON, event_text, live_columns, row_cloud_event
from timeline.relay.broker import StreamMisconfigured, connect_nats, ensure_stream, last_message_id
from timeline.relay.checkpoint import load_checkpoint, save_checkpoint, try_lock
from timeline.store.cursor import decode_cursor
from timeline.store.db import Timeouts, connect_dedicated, wait_closed
from timeline.store.errors import InvalidCursor
from timeline.store.feed import read_feed_rows
from timeline.store.lost import describe, is_lost

APPLICATION = "timeline-relay"
# No statement should take long here; a frozen server is given up on, not waited for.
RELAY_TIMEOUTS = Timeouts(statement=30.0, command=30.0, acquire=10.0, connect=5.0)
# A relay waiting for the lock asks again this often.
LOCK_POLL_SECONDS = 0.5
# Held-back events surface without a wake-up; look again this often when idle.
IDLE_POLL_SECONDS = 0.25


class RelayOptions(msgspec.Struct, frozen=True, kw_only=True):
    nats_url: str = "nats://127.0.0.1:4222"
    stream: str = "TIMELINE"
    subject_prefix: str = "timeline"
    cloudevents: bool = False
    # Seconds JetStream remembers an id; it must outlast a checkpoint interval and a restart.
    duplicate_window: float = 120.0
    checkpoint_every: int = 500
    checkpoint_seconds: float = 1.0
    page_size: int = 500
    publish_timeout: float = 2.0


def say(message: str) -> None:
    print(f"timeline relay: {message}", file=sys.stderr, flush=True)


class Relay:
    """One relay process: its options, its progress, and a way to stop it."""

    def __init__(
        self,
        database_url: str,
        options: RelayOptions,
        *,
        log: Callable[[str], None] = say,
    ) -> None:
        self.url = database_url
        self.options = options
        self.log = log
        self.stopping = asyncio.Event()
        self.published = 0  # acks received by this process (duplicates included)
        self.holding = asyncio.Event()  # set while this relay has the lock

    def stop(self) -> None:
        self.stopping.set()

    async def run(self) -> None:
        """Relay until stop(): take the lock, publish, and start again after any failure."""
        failures = 0
        while not self.stopping.is_set():
            try:
                await self._session()
                failures = 0
            except StreamMisconfigured:
                raise
            except Exception as error:
                if not _transient(error):
                    raise
                failures += 1
                self.log(f"{describe(error)}; starting again")
                await self._sleep(backoff(failures))

    async def _session(self) -> None:
        """One database session: the lock, the broker, then pages until a failure or stop()."""
        pg: asyncpg.Connection | None = None
        nc: Client | None = None
        try:
            pg = await connect_dedicated(self.url, application=APPLICATION, timeouts=RELAY_TIMEOUTS)
            if not await self._take_lock(pg):
                return
            self.holding.set()
            nc = await connect_nats(self.options.nats_url)
            js = nc.jetstream(timeout=self.options.publish_timeout)
            opts = self.options
            await ensure_stream(js, opts.stream, opts.subject_prefix, opts.duplicate_window)
            await _Session(self, pg, js, await _store(pg)).follow()
        finally:
            self.holding.clear()
            if nc is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(nc.close(), 2.0)
            await wait_closed(pg)

    async def _take_lock(self, pg: asyncpg.Connection) -> bool:
        waited = False
        while not await try_lock(pg, self.options.stream):
            if not waited:
                self.log(f"another relay publishes to {self.options.stream}; waiting to take over")
                waited = True
            if await self._sleep(LOCK_POLL_SECONDS):
                return False
        return not self.stopping.is_set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, or less when stop() is called; True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()


async def _store(pg: asyncpg.Connection) -> str:
    value = await pg.fetchval("SELECT store_id::text FROM store_meta LIMIT 1")
    assert value is not None, "store_meta is empty: run `timeline migrate`"
    return str(value)


def _transient(error: BaseException) -> bool:
    """A failure the relay rides out by starting again: the database or NATS went away."""
    return is_lost(error) or isinstance(error, nats.errors.Error | OSError | TimeoutError)


class _Session:
    """Publishing while holding the lock on `pg`, which also reads the feed and saves."""

    def __init__(self, relay: Relay, pg: asyncpg.Connection, js: JetStreamContext, store: str):
        self.relay = relay
        self.options = relay.options
        self.pg = pg
        self.js = js
        self.store = store
        self.columns = live_columns(store)
        self.woken = asyncio.Event()
        self.unsaved = 0
        self.saved_at = time.monotonic()
        self.cursor: str | None = None  # the last acknowledged event's cursor

    async def follow(self) -> None:
        await self.pg.add_listener(CHANNEL, lambda *_: self.woken.set())
        self.cursor = await self._resume_point()
        self.relay.log(f"publishing to {self.options.stream} after {self.cursor or 'the start'}")
        try:
            while not self.relay.stopping.is_set():
                self.woken.clear()
                page = await read_feed_rows(
                    self.pg,
                    self.store,
                    self.cursor,
                    self.options.page_size,
                    columns=self.columns,
                    cursor_column=CURSOR,
                )
                for row, cursor in zip(page.rows, page.cursors, strict=True):
                    await self._publish(row, cursor)
                    if self._save_due():
                        await self._save()
                if page.at_horizon:
                    await self._save()
                    await self._idle()
        finally:
            if not self.pg.is_closed():
                with contextlib.suppress(Exception):
                    await self._save()

    async def _resume_point(self) -> str | None:
        """After the stream's last event of ours, else after the checkpoint.

        The stream's last id is what the broker holds: past the checkpoint after a
        crash (the unsaved tail), and behind it only when the broker lost messages
        it had acknowledged, which are then published again. A stream that holds
        none of ours (new, purged, aged out) resumes from the checkpoint.
        """
        saved = await load_checkpoint(self.pg, self.options.stream)
        last = await last_message_id(self.js, self.options.stream)
        if last is None or not self._ours(last):
            return saved if saved is not None and self._ours(saved) else None
        if saved is not None and self._ours(saved) and self._before(last, saved):
            self.relay.log(
                f"the stream ends at {last}, before the checkpoint {saved}: the broker "
                "lost acknowledged messages; publishing them again"
            )
        return last

    def _before(self, cursor: str, other: str) -> bool:
        return decode_cursor(self.store, cursor) < decode_cursor(self.store, other)

    def _ours(self, cursor: str) -> bool:
        try:
            decode_cursor(self.store, cursor)
        except InvalidCursor:
            self.relay.log(f"ignoring {cursor!r}: not a cursor of this store")
            return False
        return True

    async def _publish(self, row: Any, cursor: str) -> None:
        """Publish one event and wait for its ack; retry with the same id until it comes."""
        subject = f"{self.options.subject_prefix}.{row['stream_type']}.{row['type']}"
        body = self._body(row, cursor)
        failures = 0
        while True:
            try:
                await self.js.publish(subject, body, headers={"Nats-Msg-Id": cursor})
                break
            except (nats.errors.Error, TimeoutError) as error:
                if self.relay.stopping.is_set():
                    raise
                failures += 1
                if failures == 1:
                    self.relay.log(f"publish failed ({describe(error)}); retrying")
                await asyncio.sleep(backoff(failures))
        self.cursor = cursor
        self.unsaved += 1
        self.relay.published += 1

    def _body(self, row: Any, cursor: str) -> bytes:
        if self.options.cloudevents:
            return _encoder.encode(row_cloud_event(row, cursor, self.store))
        return event_text(row["type"], row["schema_version"], row[JSON]).encode()

    def _save_due(self) -> bool:
        return self.unsaved >= self.options.checkpoint_every or (
            self.unsaved > 0 and time.monotonic() - self.saved_at >= self.options.checkpoint_seconds
        )

    async def _save(self) -> None:
        if self.unsaved == 0 or self.cursor is None:
            return
        place = decode_cursor(self.store, self.cursor)
        await save_checkpoint(self.pg, self.options.stream, self.cursor, place, self.unsaved)
        self.unsaved = 0
        self.saved_at = time.monotonic()

    async def _idle(self) -> None:
        """Wait for a wake-up, a poll interval, or stop(), proving the lock's session lives."""
        waiter = asyncio.ensure_future(self.woken.wait())
        stopper = asyncio.ensure_future(self.relay.stopping.wait())
        try:
            await asyncio.wait(
                {waiter, stopper}, timeout=IDLE_POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
            stopper.cancel()


_encoder = msgspec.json.Encoder()


async def cli_relay(database_url: str, options: RelayOptions) -> int:
    """Run a relay until SIGINT or SIGTERM; exit 2 on a stream it cannot use."""
    import signal

    relay = Relay(database_url, options)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, relay.stop)
    try:
        await relay.run()
    except StreamMisconfigured as error:
        say(str(error))
        return 2
    say(f"stopped; {relay.published} published by this process")
    return 0
