"""A write's cost vs the store's size: ~10,000 events against as many as fit in the fill budget.

Two databases on the same server, filled alike: a template timeline of 1,000
assertions and nine copies (10,000 assertions, projected), and a small timeline
the writes go to. The big one's log then grows by up to STORE_EVENTS more
assertion events of 10,000 other timelines (fill.grow_log: by SQL, in batches,
indexes built once at the end; unprojected, since projecting 10 million events
takes hours) and it holds a day's worth of idempotency keys (KEYS). The target
is 10 million; the output says how many the budget allowed.

Sequential writes, sampled in turn in the two stores:
- write.record_assertion: the command handler (load, decide, append, apply);
- write.append: one event appended with an idempotency key, store level;
- write.http_post and read.http_page: POST an assertion and GET the timeline's
  page of 50 from an API process per store (uvicorn, feed and all), one request
  at a time: what a client meets, the feed's wake-up after each commit included.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bench import entry, fill, serve
from tests.bench.bench_http import BODY
from tests.bench.harness import Bench, another_database, median
from timeline.domain.events import TimelineRetitled

STORE_EVENTS = int(os.environ.get("TIMELINE_BENCH_STORE_EVENTS", "10000000"))
FILL_SECONDS = float(os.environ.get("TIMELINE_BENCH_FILL_SECONDS", "150"))
KEYS = 100_000
SAMPLES = 120
HTTP_SAMPLES = 100
TARGET = "bench-w"  # the small timeline written to
BYTES_PER_EVENT = 1200  # the grown log on disk with its indexes, with room to spare


async def _base(engine: AsyncEngine) -> None:
    """10,000 projected assertions and the timeline the writes go to."""
    runner = entry.writer(engine)
    await entry.register_source(runner)
    await fill.template(engine, fill.TEMPLATE, 1000, fill.PREFIX)
    await entry.open_timeline(runner, "w-9k")
    await fill.copy_assertions(engine, fill.TEMPLATE, fill.PREFIX, "w-9k", 9)
    await entry.open_timeline(runner, TARGET)
    await entry.open_timeline(runner, "bench-append")


async def _events(engine: AsyncEngine) -> int:
    async with entry.connect(engine) as conn:
        count = await conn.scalar(text("SELECT count(*) FROM events"))
    return int(count or 0)


async def _room(engine: AsyncEngine, wanted: int) -> int:
    """How many events the server's disk can take (when its data directory is local)."""
    async with entry.connect(engine) as conn:
        data_dir = await conn.scalar(text("SELECT current_setting('data_directory')"))
    try:
        free = shutil.disk_usage(Path(str(data_dir))).free
    except OSError:
        return wanted  # not visible from here (a remote server): try the target
    return min(wanted, int(free / 3 / BYTES_PER_EVENT))


async def _grow(engine: AsyncEngine) -> tuple[int, str]:
    wanted = await _room(engine, STORE_EVENTS)
    started = time.perf_counter()
    grown = await fill.grow_log(engine, wanted, budget=FILL_SECONDS, slug=fill.TEMPLATE)
    await fill.fill_keys(engine, KEYS)
    async with entry.connect(engine.execution_options(isolation_level="AUTOCOMMIT")) as conn:
        await conn.execute(text("ANALYZE"))
    events = await _events(engine)
    why = ""
    if grown < STORE_EVENTS:
        limit = (
            "the disk's free space" if wanted < STORE_EVENTS else f"{FILL_SECONDS:.0f} s of fill"
        )
        why = f"; {limit} allowed {grown} of the {STORE_EVENTS} more events aimed at"
    print(
        f"  (grew the log by {grown} events to {events} in "
        f"{time.perf_counter() - started:.0f} s{why})",
        flush=True,
    )
    return events, why


def _label(events: int) -> str:
    if events < 10**6:
        return f"{events // 1000}k"
    return f"{events / 1e6:.1f}".removesuffix(".0") + "M"


async def run(bench: Bench, database_url: str) -> None:
    started = time.perf_counter()
    small = entry.create_engine(database_url, pool_size=2)
    async with another_database(database_url) as big_url:
        big = entry.create_engine(big_url, pool_size=2)
        try:
            await _base(small)
            await _base(big)
            await fill.analyze(small)
            await fill.analyze(big)
            small_events = await _events(small)
            print(
                f"  (two stores of {small_events} events in {time.perf_counter() - started:.0f} s)"
            )
            big_events, why = await _grow(big)
            label, note = (
                _label(big_events),
                f"stores of {big_events} and {small_events} events{why}",
            )
            await _measure(bench, small, big, label, note)
            keys = [await entry.write_key(small), await entry.write_key(big)]
            with serve.uvicorn(database_url) as small_api, serve.uvicorn(big_url) as big_api:
                await _over_http(bench, {"10k": small_api, "big": big_api}, keys, label, note)
        finally:
            await big.dispose()
            await small.dispose()


async def _measure(
    bench: Bench, small: AsyncEngine, big: AsyncEngine, label: str, note: str
) -> None:
    stores = {"10k": small, "big": big}
    runners = {name: entry.writer(engine) for name, engine in stores.items()}
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(SAMPLES + 10):
        for name, engine in stores.items():
            start = time.perf_counter()
            await entry.record_assertion(runners[name], entry.assertion(f"w-{name}-{i}", TARGET, i))
            recorded = time.perf_counter()
            await entry.append(
                engine,
                "timeline",
                "bench-append",
                i + 1,
                [TimelineRetitled(slug="bench-append", title=f"Ceasefire talks, day {i}")],
                idempotency_key=f"append-{i}",
            )
            appended = time.perf_counter()
            if i >= 10:  # warm-up
                times.setdefault(("record_assertion", name), []).append((recorded - start) * 1000)
                times.setdefault(("append", name), []).append((appended - recorded) * 1000)
    for write in ("record_assertion", "append"):
        bench.record(
            f"write.{write}@{label}",
            median(times[write, "big"]),
            "ms p50",
            f"write.{write}@10k",
            median(times[write, "10k"]),
            higher_is_better=False,
            note=note,
        )


async def _over_http(
    bench: Bench, apis: dict[str, str], keys: list[str], label: str, note: str
) -> None:
    times: dict[tuple[str, str], list[float]] = {}
    failures: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(HTTP_SAMPLES + 5):
            for (name, base), key in zip(apis.items(), keys, strict=True):
                start = time.perf_counter()
                posted = await client.post(
                    f"{base}/v1/timelines/{TARGET}/assertions",
                    json=BODY,
                    headers={"Authorization": f"Bearer {key}"},
                )
                answered = time.perf_counter()
                page = await client.get(f"{base}/v1/timelines/{TARGET}", params={"limit": 50})
                read = time.perf_counter()
                failures += [
                    f"{name} {r.request.method} {r.status_code}"
                    for r, ok in ((posted, 201), (page, 200))
                    if r.status_code != ok
                ]
                if i >= 5:  # warm-up
                    times.setdefault(("write.http_post", name), []).append(
                        (answered - start) * 1000
                    )
                    times.setdefault(("read.http_page", name), []).append((read - answered) * 1000)
    trouble = f"; failed: {', '.join(sorted(set(failures)))} ({len(failures)})" if failures else ""
    for figure in ("write.http_post", "read.http_page"):
        bench.record(
            f"{figure}@{label}",
            median(times[figure, "big"]),
            "ms p50",
            f"{figure}@10k",
            median(times[figure, "10k"]),
            higher_is_better=False,
            note=note + trouble,
            broken=bool(failures),
        )
