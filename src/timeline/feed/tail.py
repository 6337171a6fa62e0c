"""`timeline events tail`: print the feed as NDJSON, following it live; resume with --after.

It rides out a database outage: a failed read waits (0.1 s doubling to 2 s)
and reads again from the last cursor printed, so nothing is printed twice or
skipped; the LISTEN connection is opened again when it is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import asyncpg

from timeline.background import backoff
from timeline.feed.notify import CHANNEL
from timeline.feed.shape import CURSOR, JSON, event_text, page_columns
from timeline.store.db import CLI_TIMEOUTS, connect, connect_dedicated, create_engine, wait_closed
from timeline.store.errors import DatabaseUnavailable, InvalidCursor
from timeline.store.feed import read_feed_rows, store_id
from timeline.store.lost import describe, is_lost

# Events held back by an open transaction surface unannounced; look again this often.
POLL_SECONDS = 1.0


async def cli_tail(url: str, after: str | None, types: list[str]) -> int:
    """Follow the feed from `after` (None: the start), one JSON event per line, until Ctrl-C."""
    engine = create_engine(url, pool_size=1, application="timeline-tail")
    woken = asyncio.Event()
    listen: asyncpg.Connection | None = None
    out = sys.stdout.buffer
    cursor = after
    failures = 0
    try:
        async with connect(engine) as conn:
            store = await store_id(conn)
        while True:
            try:
                if listen is None or listen.is_closed():
                    listen = await connect_dedicated(
                        url, application="timeline-tail", timeouts=CLI_TIMEOUTS
                    )
                    await listen.add_listener(CHANNEL, lambda *_: woken.set())
                woken.clear()
                async with connect(engine) as conn:
                    page = await read_feed_rows(
                        conn,
                        store,
                        cursor,
                        1000,
                        types=types,
                        columns=page_columns(store),
                        cursor_column=CURSOR,
                    )
            except (InvalidCursor, asyncio.CancelledError):
                raise
            except Exception as error:
                if not is_lost(error):
                    raise
                if listen is not None:
                    listen.terminate()
                    listen = None
                failures += 1
                if failures == 1:
                    print(f"timeline: {describe(error)}; retrying", file=sys.stderr)
                await asyncio.sleep(backoff(failures))
                continue
            failures = 0
            for row in page.rows:
                plain = event_text(row["type"], row["schema_version"], row[JSON])
                out.write(plain.encode() + b"\n")
            out.flush()
            cursor = page.next_cursor
            if page.at_horizon:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=POLL_SECONDS)
    except InvalidCursor as error:
        print(f"timeline: --after: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:  # before the first read: nothing to resume yet
        print(f"timeline: cannot use the database: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        # `=`: a cursor may begin with "-", which argparse would take for an option.
        print(f"timeline: stopped; resume with --after={cursor}", file=sys.stderr)
        return 0
    finally:
        await wait_closed(listen)
        await engine.dispose()
