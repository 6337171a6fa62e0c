"""A second first use of a key waits for the first one's transaction, then replays it."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import fresh_stream, retitled, titles
from timeline.store.append import append_to_stream


async def test_a_key_in_use_by_an_open_transaction_is_replayed_once_that_commits(
    store_engine: AsyncEngine,
) -> None:
    stream, key = fresh_stream(), f"key-{uuid.uuid4().hex}"
    async with store_engine.connect() as first, store_engine.connect() as second:
        mine = await append_to_stream(
            first, stream, None, [retitled(stream, "once")], idempotency_key=key
        )
        # No expected version: without the wait on the key, the second would append too
        # (or collide with the first's uncommitted version and fail).
        waiting = asyncio.ensure_future(
            append_to_stream(second, stream, None, [retitled(stream, "once")], idempotency_key=key)
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await first.commit()
        theirs = await asyncio.wait_for(waiting, timeout=30)
        await second.commit()
    assert (mine.replayed, theirs.replayed) == (False, True)
    assert (theirs.version, theirs.positions) == (mine.version, mine.positions)
    async with store_engine.connect() as conn:
        assert await titles(conn, stream) == ["once"]
