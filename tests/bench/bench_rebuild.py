"""rebuild events/s against a raw sequential read (and decode) of the events table."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bench import entry
from tests.bench.harness import Bench, rate
from tests.bench.seed import seed_events
from timeline.store.db import create_engine
from timeline.store.read import COLUMNS, row_to_recorded

TIMELINES = int(os.environ.get("TIMELINE_BENCH_REBUILD_TIMELINES", "3"))
BATCH = 5000


async def _raw_read(engine: AsyncEngine) -> int:
    """Read every event in position order, in batches, decoded as the rebuild decodes them."""
    count, after = 0, 0
    async with engine.connect() as conn:
        while True:
            rows = (
                await conn.execute(
                    text(
                        f"SELECT {COLUMNS} FROM events WHERE position > :after "
                        "ORDER BY position LIMIT :limit"
                    ),
                    {"after": after, "limit": BATCH},
                )
            ).all()
            if not rows:
                return count
            count += len([row_to_recorded(row) for row in rows])
            after = rows[-1].position


async def _rebuild(engine: AsyncEngine) -> int:
    return await entry.project_all(engine, batch_size=BATCH)


async def run(bench: Bench, database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    try:
        events = await seed_events(engine, 1, TIMELINES)
        raw = await rate(lambda: _raw_read(engine))
        rebuilt = await rate(lambda: _rebuild(engine))
        bench.record(
            "rebuild",
            rebuilt,
            "events/s",
            "raw sequential read",
            raw,
            note=f"{events} events; target ratio >= 0.2",
        )
    finally:
        await engine.dispose()
