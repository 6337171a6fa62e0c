"""A standby that does not answer costs the reads nothing: they go to the primary.

With TIMELINE_READ_DATABASE_URL set, reads go to the standby. When it refuses
connections, does not answer within the connect or statement timeouts, or
drops a connection mid-read, the read that met it gets the primary instead
when it can (a failure at connect), and every read for the next
`REST_SECONDS` goes to the primary without trying the standby first (so a
dead standby costs one connect timeout per rest, not one per request). Then
the standby is tried again. The primary holds everything the standby holds,
so an answer from it is never older than the standby's would have been.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.store.db import connect
from timeline.store.errors import DatabaseUnavailable
from timeline.store.lost import is_lost

REST_SECONDS = 5.0

log = logging.getLogger("timeline.api")


class StandbyWatch:
    """Whether the standby is worth trying, from how its last reads went."""

    def __init__(self, rest_seconds: float = REST_SECONDS) -> None:
        self.rest_seconds = rest_seconds
        self.resting_until = 0.0
        self.failures = 0  # reads that met a standby not answering, since the start

    def usable(self) -> bool:
        return time.monotonic() >= self.resting_until

    def failed(self, error: BaseException) -> None:
        if self.usable():
            log.warning(
                "the standby does not answer (%s); reads go to the primary for %.0f s",
                error,
                self.rest_seconds,
            )
        self.failures += 1
        self.resting_until = time.monotonic() + self.rest_seconds


@asynccontextmanager
async def read_connection(
    primary: AsyncEngine, standby: AsyncEngine | None, watch: StandbyWatch
) -> AsyncIterator[AsyncConnection]:
    """A connection to the standby when it answers, else to the primary; failures as 503."""
    async with AsyncExitStack() as stack:
        conn: AsyncConnection | None = None
        if standby is not None and watch.usable():
            try:
                conn = await stack.enter_async_context(connect(standby))
            except DatabaseUnavailable as error:
                watch.failed(error)
        if conn is None:
            async with connect(primary) as conn:
                yield conn
            return
        try:
            yield conn
        except Exception as error:
            if is_lost(error):
                # Too late for this read (its statements ran on the standby); the next
                # go to the primary.
                watch.failed(error)
            raise
