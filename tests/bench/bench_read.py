"""read.known_at vs read.current: p50 of a timeline page (100 of 1,000 assertions, 5 versions).

Measured with the store at 10k events and again at ~200k (BIG_TIMELINES timelines
of 5,001 events; more with TIMELINE_BENCH_BIG_TIMELINES, the fill takes about a
minute per 200k on a busy machine): flat in store size means the big figure stays within 1.5x of
the small one. read.recorded_at (the audit read) is reported beside them.

The small store is projected by a real rebuild. The big one is filled in bulk:
its events by one INSERT ... SELECT, its projection rows by copying the rebuilt
rows of tl-1 under each new timeline's ids, positions and system time (every
seeded timeline has the same shape, so the copy is what a rebuild would make),
with the projection indexes dropped during the copy and made afterwards.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex

from tests.bench import entry
from tests.bench.harness import Bench, median
from tests.bench.seed import EVENTS_PER_TIMELINE, seed_events
from timeline.projections import indexes
from timeline.projections.temporal import NOW, Temporal
from timeline.store.db import create_engine

SAMPLES = 60
BIG_TIMELINES = int(os.environ.get("TIMELINE_BENCH_BIG_TIMELINES", "40"))
# between the 2nd and 3rd versions' reports: every assertion answers with an old state
KNOWN_AT = Temporal(known_at=datetime(2020, 10, 3, 12, tzinfo=UTC))

# Projection columns rewritten in a copy; every other stored column is copied as is.
_IDS = {"assertion_id", "timeline", "slug"}
_JSON = {"state", "event_data", "changes", "citations"}
_SYSTEM_TIME = {"recorded_at", "recorded_from", "recorded_to", "known_cut_at", "event_recorded_at"}
_POSITIONS = {"position", "last_position"}


async def _p50s(engine: AsyncEngine, timelines: int, probes: list[Temporal]) -> list[float]:
    """p50 ms of a page for each probe, interleaved sample by sample so load bursts hit all."""
    rng = random.Random(7)
    samples: list[list[float]] = [[] for _ in probes]
    async with engine.connect() as conn:
        for i in range(SAMPLES + 5):
            slug = f"tl-{rng.randint(1, timelines)}"
            for temporal, times in zip(probes, samples, strict=True):
                start = time.perf_counter()
                page = await entry.get_timeline(conn, slug, temporal, limit=100)
                elapsed = (time.perf_counter() - start) * 1000
                assert page is not None
                assert len(page.assertions) == 100
                if i >= 5:  # warm-up
                    times.append(elapsed)
    return [median(times) for times in samples]


async def _measure(bench: Bench, engine: AsyncEngine, timelines: int, label: str) -> float:
    held_now = Temporal(recorded_at=datetime.now(UTC))
    current, known, recorded = await _p50s(engine, timelines, [NOW, KNOWN_AT, held_now])
    note = f"timeline page of 100; store of {timelines * EVENTS_PER_TIMELINE} events"
    baseline = f"read.current@{label}"
    for name, value in (("known_at", known), ("recorded_at", recorded)):
        bench.record(
            f"read.{name}@{label}",
            value,
            "ms p50",
            baseline,
            current,
            higher_is_better=False,
            note=note,
        )
    return known


def _copied(column: str, table: str) -> str:
    """The SELECT expression copying tl-1's `column` of `table` to timeline t (offsets in o)."""
    if column in _IDS:
        return f"replace(replace({column}, 'a-1-', 'a-' || o.t || '-'), 'tl-1', 'tl-' || o.t)"
    if column in _JSON:
        return (
            f"replace(replace({column}::text, '\"a-1-', '\"a-' || o.t || '-'), "
            "'\"tl-1\"', '\"tl-' || o.t || '\"')::jsonb"
        )
    if column in _SYSTEM_TIME:
        return f"{column} + o.shift"
    if column in _POSITIONS:
        return f"{column} + o.{'timeline' if table == 'timelines' else 'assertion'}_offset"
    return column


async def _copy_projection(conn: AsyncConnection, table: str, first: int, last: int) -> None:
    columns = (
        await conn.scalars(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                "'projections' AND table_name = :table AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position"
            ),
            {"table": table},
        )
    ).all()
    key = "slug" if table == "timelines" else "timeline"
    await conn.execute(
        text(
            f"INSERT INTO projections.{table} ({', '.join(columns)}) "
            f"SELECT {', '.join(_copied(c, table) for c in columns)} "
            f"FROM projections.{table} JOIN _offsets o ON true WHERE {key} = 'tl-1' "
            "AND o.t BETWEEN :first AND :last"
        ),
        {"first": first, "last": last},
    )


async def fill(engine: AsyncEngine, first: int, last: int) -> None:
    """Timelines first..last: events written by SQL, projections copied from tl-1's."""
    await seed_events(engine, first, last)
    async with engine.begin() as conn:
        # Each seeded timeline's events are blocks of positions in the same order.
        await conn.execute(
            text(
                "CREATE TEMP TABLE _offsets ON COMMIT DROP AS WITH per AS ("
                "  SELECT substr(timeline, 4)::int AS t, min(recorded_at) AS recorded_at, "
                "  min(position) FILTER (WHERE stream_type = 'timeline') AS timeline_position, "
                "  min(position) FILTER (WHERE stream_type = 'assertion') AS assertion_position "
                "  FROM events GROUP BY timeline) "
                "SELECT p.t, p.recorded_at - one.recorded_at AS shift, "
                "p.timeline_position - one.timeline_position AS timeline_offset, "
                "p.assertion_position - one.assertion_position AS assertion_offset "
                "FROM per p JOIN per one ON one.t = 1"
            )
        )
        for index in indexes.DEFERRED_INDEXES:
            await conn.execute(text(f"DROP INDEX IF EXISTS projections.{index.name}"))
        for table in ("timelines", "assertions", "revisions"):
            await _copy_projection(conn, table, first, last)
        for index in indexes.DEFERRED_INDEXES:
            await conn.execute(CreateIndex(index, if_not_exists=True))
        await conn.execute(text("ANALYZE"))


async def run(bench: Bench, database_url: str) -> None:
    engine = create_engine(database_url, pool_size=2)
    try:
        await seed_events(engine, 1, 2)
        await entry.project_all(engine)
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))  # as autovacuum would, before measuring
        small = await _measure(bench, engine, 2, "10k")
        start = time.perf_counter()
        await fill(engine, 3, BIG_TIMELINES)
        events = BIG_TIMELINES * EVENTS_PER_TIMELINE
        print(f"  (filled to {events} events in {time.perf_counter() - start:.0f} s)", flush=True)
        label = f"{events // 1000}k"
        big = await _measure(bench, engine, BIG_TIMELINES, label)
        bench.record(
            f"read.known_at@{label}_vs_10k",
            big,
            "ms p50",
            "read.known_at@10k",
            small,
            higher_is_better=False,
            note="flat in store size: target within 1.5x",
        )
    finally:
        await engine.dispose()
