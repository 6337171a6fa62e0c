"""read.known_at vs read.current: p50 of a timeline page (100 of 1,000 assertions, 5 versions).

Measured with the store at 10k events and again at a larger size (BIG_TIMELINES
timelines of 5,001 events): flat in store size means the big figure stays
within 1.5x of the small one.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bench.harness import Bench, median
from tests.bench.seed import EVENTS_PER_TIMELINE, seed_events
from timeline.projections.reads import get_timeline
from timeline.projections.rebuild import rebuild
from timeline.projections.temporal import NOW, Temporal
from timeline.store.engine import create_engine

SAMPLES = 60
BIG_TIMELINES = int(os.environ.get("TIMELINE_BENCH_BIG_TIMELINES", "20"))
# between the 2nd and 3rd versions' reports: every assertion answers with an old state
KNOWN_AT = Temporal(known_at=datetime(2020, 10, 3, 12, tzinfo=UTC))


async def _p50(engine: AsyncEngine, timelines: int, temporal: Temporal) -> float:
    rng = random.Random(7)
    samples = []
    async with engine.connect() as conn:
        for i in range(SAMPLES + 5):
            slug = f"tl-{rng.randint(1, timelines)}"
            start = time.perf_counter()
            page = await get_timeline(conn, slug, temporal, limit=100)
            elapsed = (time.perf_counter() - start) * 1000
            assert page is not None
            assert len(page.assertions) == 100
            if i >= 5:  # warm-up
                samples.append(elapsed)
    return median(samples)


async def _measure(bench: Bench, engine: AsyncEngine, timelines: int, label: str) -> float:
    current = await _p50(engine, timelines, NOW)
    known = await _p50(engine, timelines, KNOWN_AT)
    bench.record(
        f"read.known_at@{label}",
        known,
        "ms p50",
        f"read.current@{label}",
        current,
        higher_is_better=False,
        note=f"timeline page of 100; store of {timelines * EVENTS_PER_TIMELINE} events",
    )
    return known


async def run(bench: Bench, database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    try:
        await seed_events(engine, 1, 2)
        await rebuild(engine)
        small = await _measure(bench, engine, 2, "10k")
        await seed_events(engine, 3, BIG_TIMELINES)
        await rebuild(engine)
        events = BIG_TIMELINES * EVENTS_PER_TIMELINE
        big = await _measure(bench, engine, BIG_TIMELINES, f"{events // 1000}k")
        bench.record(
            f"read.known_at@{events // 1000}k_vs_10k",
            big,
            "ms p50",
            "read.known_at@10k",
            small,
            higher_is_better=False,
            note="flat in store size: target within 1.5x",
        )
    finally:
        await engine.dispose()
