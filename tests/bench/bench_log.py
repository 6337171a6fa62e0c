"""The verifiable log (issue 15): integration, its cost to appends, latency to a checkpoint.

- log.integrate: leaves per second that `integrate` adds (read the feed, encode
  each export line, hash, store leaves and nodes, sign), beside the same
  entries hashed with plain hashlib SHA-256 in one loop (already in memory);
  log.integrate_vs_read_hash puts it beside reading the same feed pages and
  hashing each line, which is all of it but storing and signing;
- log.append_with_sequencer: 8 writers' appends per second with the sequencer
  running in the same process, beside the sequencer stopped (phases alternate);
- log.commit_to_checkpoint_p50/p99: seconds from a writer's commit to the first
  signed checkpoint that includes it, under the same 8 writers, beside 1 s;
- log.http_inclusion_p50: an inclusion proof over HTTP, beside a bare
  one-SELECT route of the same server.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from litestar import Litestar

from tests.bench import bench_http, serve
from tests.bench.harness import Bench, another_database, median, percentile
from timeline.api.app import create_app
from timeline.config import Settings
from timeline.domain.events import TimelineOpened, TimelineRetitled
from timeline.feed.notify import Notifier
from timeline.store import feed as cols
from timeline.store.append import StreamRef, append_to_stream
from timeline.store.db import asyncpg_dsn, create_engine
from timeline.tlog.note import Signer, write_key_file
from timeline.tlog.sequencer import Sequencer, entry, integrate

ORIGIN = "bench.timeline/log"
FILL = int(os.environ.get("TIMELINE_BENCH_LOG_EVENTS", "50000"))
WRITERS = 8
PHASE_SECONDS = 6.0
PROOFS = 300


async def _fill(url: str, events: int) -> None:
    """`events` events in streams of 500, appended 500 at a time."""
    engine = create_engine(url, pool_size=2)
    for k in range(events // 500):
        slug = f"fill-{k}"
        batch = [TimelineOpened(slug=slug, title="t", region="r")]
        batch += [TimelineRetitled(slug=slug, title=f"t{i}") for i in range(499)]
        async with engine.begin() as conn:
            await append_to_stream(conn, StreamRef("timeline", slug), 0, batch, timeline=slug)
    await engine.dispose()


async def _baselines(conn: asyncpg.Connection) -> tuple[float, float, int]:
    """(entries/s hashed in memory, entries/s read from the feed and hashed, entries)."""
    store = str(await conn.fetchval("SELECT store_id::text FROM store_meta"))
    started, after, entries = time.perf_counter(), None, []
    while True:
        page = await cols.read_feed_rows(conn, store, after, cols.MAX_LIMIT)
        entries += [entry(row, len(entries) + i) for i, row in enumerate(page.rows)]
        for line in entries[-len(page.rows) :] if page.rows else []:
            hashlib.sha256(b"\x00" + line).digest()
        if page.at_horizon:
            break
        after = page.next_cursor
    read_and_hash = len(entries) / (time.perf_counter() - started)
    started = time.perf_counter()
    for line in entries:
        hashlib.sha256(b"\x00" + line).digest()
    return len(entries) / (time.perf_counter() - started), read_and_hash, len(entries)


async def _integration(bench: Bench, url: str, signer: Signer) -> None:
    await _fill(url, FILL)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        in_memory, read_and_hash, entries = await _baselines(conn)
        started = time.perf_counter()
        result = await integrate(conn, signer, ORIGIN)
        rate = result.added / (time.perf_counter() - started)
    finally:
        await conn.close()
    note = f"{entries} events, batches of 5000, one checkpoint each"
    bench.record(
        "log.integrate", rate, "leaves/s", "hashlib SHA-256 in one loop", in_memory, note=note
    )
    bench.record(
        "log.integrate_vs_read_hash",
        rate,
        "leaves/s",
        "read feed + hash each line",
        read_and_hash,
        note=note,
    )


class Writers:
    """8 writers appending one-event streams; each commit's time and position, and a NOTIFY."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_size=WRITERS)
        self.notifier = Notifier(url)
        self.commits: list[tuple[float, int]] = []
        self.n = 0

    async def run(self, seconds: float) -> int:
        stop = time.monotonic() + seconds
        before = len(self.commits)

        async def one() -> None:
            while time.monotonic() < stop:
                self.n += 1
                slug = f"w-{self.n}"
                async with self.engine.begin() as conn:
                    result = await append_to_stream(
                        conn,
                        StreamRef("timeline", slug),
                        0,
                        [TimelineOpened(slug=slug, title="t", region="r")],
                        timeline=slug,
                    )
                self.commits.append((time.monotonic(), result.positions[0]))
                self.notifier.poke()

        await asyncio.gather(*(one() for _ in range(WRITERS)))
        return len(self.commits) - before


async def _appends(bench: Bench, url: str, signer: Signer) -> None:
    writers = Writers(url)
    await writers.notifier.start()
    sequencer = Sequencer(url, signer, ORIGIN)
    watcher = await asyncpg.connect(asyncpg_dsn(url))
    signed: list[tuple[float, int]] = []
    watching = True

    async def watch() -> None:
        while watching:
            size = await watcher.fetchval("SELECT coalesce(max(tree_size), 0) FROM log_checkpoints")
            signed.append((time.monotonic(), int(size)))
            await asyncio.sleep(0.005)

    stopped = running = 0.0
    try:
        await writers.run(1.0)  # warm up
        for _ in range(2):
            stopped += await writers.run(PHASE_SECONDS)
            await sequencer.start()
            await asyncio.sleep(0.5)  # it catches up with the stopped phase first
            task = asyncio.create_task(watch())
            first = len(writers.commits)
            running += await writers.run(PHASE_SECONDS)
            await asyncio.sleep(1.5)
            watching = False
            await task
            watching = True
            await sequencer.stop()
            measured = writers.commits[first:]
    finally:
        await writers.notifier.close()
        await writers.engine.dispose()
    positions = [p for _, p in measured]
    rows = await watcher.fetch(
        "SELECT position, leaf_index FROM log_leaves WHERE position = ANY($1)", positions
    )
    await watcher.close()
    index = {r["position"]: r["leaf_index"] for r in rows}
    latencies = []
    for committed, position in measured:
        leaf = index.get(position)
        when = next((t for t, size in signed if leaf is not None and size > leaf), None)
        if when is not None:
            latencies.append(max(0.0, when - committed))
    note = f"{WRITERS} writers, {len(latencies)} of {len(measured)} commits seen signed"
    bench.record(
        "log.append_with_sequencer",
        running / (2 * PHASE_SECONDS),
        "appends/s",
        "the sequencer stopped",
        stopped / (2 * PHASE_SECONDS),
    )
    for p in (50, 99):
        bench.record(
            f"log.commit_to_checkpoint_p{p}",
            percentile(latencies, p),
            "s",
            "1 s (the goal for p99)",
            1.0,
            higher_is_better=False,
            note=note,
        )


def log_app() -> Litestar:
    """The API with the log's routes (no sequencer) and the bare one-SELECT route."""
    settings = Settings(
        log_key_file=Path(os.environ["TIMELINE_LOG_KEY_FILE"]),
        log_origin=ORIGIN,
        write_rate_limit=0,
    )
    app = create_app(
        settings,
        os.environ["TIMELINE_DATABASE_URL"],
        extra_route_handlers=[bench_http.select_by_pk],
    )
    app.on_startup.append(bench_http._open_pool)
    app.on_shutdown.insert(0, bench_http._close_pool)
    return app


async def _proofs(bench: Bench, url: str, key_file: Path, size: int) -> None:
    os.environ["TIMELINE_LOG_KEY_FILE"] = str(key_file)
    rng = random.Random(15)
    with serve.uvicorn(url, factory="tests.bench.bench_log:log_app") as base:
        async with httpx.AsyncClient(base_url=base) as client:
            proof, select = [], []
            for _ in range(PROOFS):
                path = f"/v1/log/proof/inclusion?index={rng.randrange(size)}&size={size}"
                started = time.perf_counter()
                assert (await client.get(path)).status_code == 200
                proof.append(time.perf_counter() - started)
                started = time.perf_counter()
                assert (
                    await client.get(f"/bench/select/{rng.randrange(1, size)}")
                ).status_code == 200
                select.append(time.perf_counter() - started)
    bench.record(
        "log.http_inclusion_p50",
        median(proof) * 1000,
        "ms",
        "a bare one-SELECT route, p50",
        median(select) * 1000,
        higher_is_better=False,
        note=f"tree of {size}",
    )


async def run(bench: Bench, database_url: str) -> None:
    signer = Signer.generate(ORIGIN)
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "log.key"
        write_key_file(key_file, signer)
        await _integration(bench, database_url, signer)
        await _proofs(bench, database_url, key_file, FILL)
        async with another_database(database_url) as other:
            await _appends(bench, other, signer)
