"""A LISTENer on the feed's channel, to see a command wake live readers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from timeline.feed.notify import CHANNEL
from timeline.store.db import asyncpg_dsn


@asynccontextmanager
async def wake_ups(url: str) -> AsyncIterator[asyncio.Queue[int]]:
    """The pids of the backends that NOTIFY the feed's channel while this is open."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    queue: asyncio.Queue[int] = asyncio.Queue()
    await conn.add_listener(CHANNEL, lambda _c, pid, _ch, _p: queue.put_nowait(pid))
    try:
        yield queue
    finally:
        await conn.close()


async def woken(queue: asyncio.Queue[int]) -> bool:
    """Whether a wake-up came (the command awaited its NOTIFY before returning, so it is
    on its way; the wait covers its delivery, far below the readers' 5 s idle poll)."""
    try:
        await asyncio.wait_for(queue.get(), timeout=3.0)
    except TimeoutError:
        return False
    return True
