"""`timeline events tail`: print the feed as NDJSON, following it live; resume with --after."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import asyncpg

from timeline.feed.notify import CHANNEL
from timeline.feed.shape import PAGE_CURSOR, event_text, page_columns
from timeline.store.db import asyncpg_dsn, create_engine
from timeline.store.errors import InvalidCursor
from timeline.store.feed import read_feed_rows, store_id

# Events held back by an open transaction surface unannounced; look again this often.
POLL_SECONDS = 1.0


async def cli_tail(url: str, after: str | None, types: list[str]) -> int:
    """Follow the feed from `after` (None: the start), one JSON event per line, until Ctrl-C."""
    engine = create_engine(url, pool_size=1, application="timeline-tail")
    listen = await asyncpg.connect(asyncpg_dsn(url))
    woken = asyncio.Event()
    await listen.add_listener(CHANNEL, lambda *_: woken.set())
    out = sys.stdout.buffer
    cursor = after
    try:
        async with engine.connect() as conn:
            store = await store_id(conn)
        while True:
            woken.clear()
            async with engine.connect() as conn:
                page = await read_feed_rows(
                    conn,
                    store,
                    cursor,
                    1000,
                    types=types,
                    columns=page_columns(store),
                    cursor_column=PAGE_CURSOR,
                )
            for row in page.rows:
                out.write(event_text(row[3], row[4], row[5]).encode() + b"\n")
            out.flush()
            cursor = page.next_cursor
            if page.at_horizon:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=POLL_SECONDS)
    except InvalidCursor as error:
        print(f"timeline: --after: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"timeline: stopped; resume with --after {cursor}", file=sys.stderr)
        return 0
    finally:
        await listen.close()
        await engine.dispose()
