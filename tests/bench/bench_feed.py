"""Feed benchmarks: commit → SSE delivery against a bare LISTEN/NOTIFY fan-out, and paging.

Delivery figures come from one process: a uvicorn server with the feed plugin
and a bare SSE endpoint (raw NOTIFY payloads forwarded to subscribers, no store
read), and httpx subscribers on the same event loop, so both paths pay the same
client overhead. Paging runs the feed in a uvicorn process of its own, as a
deployment does, against one client reading every page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import httpx
import msgspec
import uvicorn
from litestar import Litestar, get
from litestar.response import ServerSentEvent

from tests.bench import entry
from tests.bench.harness import Bench, percentile, rate
from tests.feed.sse import append_timeline, messages
from timeline.store.db import asyncpg_dsn, create_engine

SAMPLES = 150
DELIVERY_WAIT = 5.0
# Enough pages for a steady rate; a million took minutes to fill on a busy machine.
PAGE_EVENTS = int(os.environ.get("TIMELINE_BENCH_FEED_EVENTS", "200000"))
BARE = "bench_bare"


class BareFanOut:
    """One LISTEN connection forwarding raw payloads to every subscriber."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.queues: set[asyncio.Queue[str]] = set()
        self.conn: asyncpg.Connection | None = None

    async def start(self) -> None:
        self.conn = await asyncpg.connect(self.dsn)
        await self.conn.add_listener(BARE, lambda *a: [q.put_nowait(a[3]) for q in self.queues])

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def stream(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.queues.add(queue)
        try:
            yield ": bare\n"
            while True:
                yield await queue.get()
        finally:
            self.queues.discard(queue)


async def serve(app: Litestar) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    # log_config=None: keep the process's logging (run() counts the server's errors).
    server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="warning", log_config=None))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def subscribe(
    client: httpx.AsyncClient, path: str, arrivals: dict[str, list[float]], ready: list[int]
) -> None:
    async with client.stream("GET", path) as r:
        ready.append(1)
        async for message in messages(r):
            key = json.loads(message.data)["stream_id"] if message.id else message.data
            if key:
                arrivals.setdefault(key, []).append(time.perf_counter())


async def delivery(
    client: httpx.AsyncClient, path: str, subscribers: int, write: object
) -> tuple[list[float], str]:
    """Commit → receive latencies (ms), every subscriber and sample; and what went wrong.

    A stream that breaks is not waited for (nor is a delivery after DELIVERY_WAIT
    seconds): the figure is then over the streams that lived, and the note says so.
    """
    arrivals: dict[str, list[float]] = {}
    ready: list[int] = []
    tasks = [
        asyncio.create_task(subscribe(client, path, arrivals, ready)) for _ in range(subscribers)
    ]
    deadline = time.perf_counter() + 30
    while len(ready) < subscribers and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    latencies: list[float] = []
    missed = 0
    for _ in range(SAMPLES):
        key = f"d-{uuid.uuid4().hex[:10]}"
        committed = await write(key)  # type: ignore[operator]
        limit = time.perf_counter() + DELIVERY_WAIT
        while time.perf_counter() < limit:
            live = sum(not task.done() for task in tasks)
            if len(arrivals.get(key, ())) >= live:
                break
            await asyncio.sleep(0.0002)
        got = arrivals.pop(key, [])
        missed += max(0, sum(not task.done() for task in tasks) - len(got))
        latencies += [(t - committed) * 1000 for t in got]
    broken = [task for task in tasks if task.done()]
    reasons = sorted(
        {type(task.exception()).__name__ for task in broken if task.exception() is not None}
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    problems = []
    if broken:
        problems.append(f"{len(broken)} of {subscribers} streams broke ({', '.join(reasons)})")
    if missed:
        problems.append(f"{missed} deliveries not seen within {DELIVERY_WAIT:.0f} s")
    return latencies, "; ".join(problems)


class ErrorCount(logging.Handler):
    """Counts the server's error log lines instead of printing their tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count, self.first = 0, ""

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if not self.first:
            error = record.exc_info[1] if record.exc_info else None
            while error is not None and error.__cause__ is not None:
                error = error.__cause__
            while isinstance(error, BaseExceptionGroup):
                error = error.exceptions[0]
            self.first = f"{record.getMessage().strip()}: {type(error).__name__}: {error}"[:300]


async def raw_listen_notify(dsn: str) -> list[float]:
    listener, sender = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    got = asyncio.Event()
    await listener.add_listener("bench_raw", lambda *a: got.set())
    samples = []
    for _ in range(500):
        got.clear()
        start = time.perf_counter()
        await sender.execute("NOTIFY bench_raw")
        await got.wait()
        samples.append((time.perf_counter() - start) * 1000)
    await listener.close()
    await sender.close()
    return samples


async def fill(dsn: str, total: int) -> None:
    conn = await asyncpg.connect(dsn)
    batch = 50_000
    for start in range(0, total, batch):
        await conn.execute(
            "INSERT INTO events (stream_type, stream_id, version, type, data, timeline) "
            "SELECT 'timeline', 'p' || g, 1, 'TimelineRetitled', "
            "jsonb_build_object('slug', 'p' || g, 'title', 'title ' || g), 'bench' "
            "FROM generate_series($1::bigint, $2::bigint) g",
            start,
            start + batch - 1,
        )
    await conn.close()


class ConsumedEvent(msgspec.Struct):
    """What a consumer takes from each event: the keyset scan's columns, `data` left as JSON text
    (the scan reads `data::text`), timestamps as datetimes (asyncpg decodes those)."""

    id: str
    type: str
    stream_type: str
    stream_id: str
    version: int
    position: int
    data: msgspec.Raw
    metadata: msgspec.Raw
    reported_at: datetime | None
    recorded_at: datetime


class ConsumedPage(msgspec.Struct):
    events: list[ConsumedEvent]
    next_cursor: str


page_decoder = msgspec.json.Decoder(ConsumedPage)


async def keyset_scan(dsn: str) -> int:
    """The baseline: the feed's order and columns straight from asyncpg, no horizon, no HTTP."""
    conn = await asyncpg.connect(dsn)
    count, tx, pos = 0, "0", 0
    while True:
        rows = await conn.fetch(
            "SELECT position, tx_id::text AS tx, stream_type, stream_id, version, type, "
            "data::text, metadata, reported_at, recorded_at FROM events "
            "WHERE (tx_id, position) > ($1::text::xid8, $2) "
            "ORDER BY events.tx_id, events.position LIMIT 1000",
            tx,
            pos,
        )
        if not rows:
            await conn.close()
            return count
        count += len(rows)
        tx, pos = rows[-1]["tx"], rows[-1]["position"]


PAGE_SERVER_DATABASE = "TIMELINE_BENCH_FEED_DATABASE_URL"


def page_app() -> Litestar:
    """The page-read server (a uvicorn factory): the feed alone, in its own process."""
    return Litestar(plugins=[entry.feed_plugin(os.environ[PAGE_SERVER_DATABASE])])


@contextlib.asynccontextmanager
async def feed_server(database_url: str) -> AsyncIterator[str]:
    """A uvicorn process serving page_app, as a deployment runs it apart from its consumers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", "--factory", "tests.bench.bench_feed:page_app"),
        *("--port", str(port), "--log-level", "warning"),
        env={**os.environ, PAGE_SERVER_DATABASE: database_url},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/v1/events", params={"limit": 1})).is_success:
                        break
                await asyncio.sleep(0.1)
        yield base
    finally:
        process.terminate()
        await process.wait()


async def page_read(bench: Bench, database_url: str, dsn: str) -> None:
    """Page the whole feed over HTTP (a consumer decoding every page) against a keyset scan."""
    started = time.perf_counter()
    await fill(dsn, PAGE_EVENTS)
    conn = await asyncpg.connect(dsn)
    # Hint bits and the visibility map: set them now, or the first reader pays for them.
    await conn.execute("VACUUM (ANALYZE) events")
    await conn.close()
    print(f"  filled {PAGE_EVENTS} events in {time.perf_counter() - started:.1f} s")
    await keyset_scan(dsn)  # warm the cache for both

    async with (
        feed_server(database_url) as base,
        httpx.AsyncClient(base_url=base, timeout=60) as client,  # keep-alive, as a poller
    ):

        async def page_http() -> int:
            count, after = 0, None
            while True:
                params = {"limit": "1000", **({"after": after} if after else {})}
                response = await client.get("/v1/events", params=params)
                page = page_decoder.decode(response.content)
                if not page.events:
                    return count
                count += len(page.events)
                after = page.next_cursor

        page_rate = await rate(page_http)
    scan_rate = await rate(lambda: keyset_scan(dsn))
    bench.record(
        "feed.page_read",
        page_rate,
        "events/s",
        "raw keyset scan (asyncpg)",
        scan_rate,
        note=f"{PAGE_EVENTS} events via GET /v1/events?limit=1000 from a uvicorn process, "
        "decoded by a typed msgspec client",
    )


async def run(bench: Bench, database_url: str) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    errors = ErrorCount()
    server_log = logging.getLogger("uvicorn.error")
    server_log.addHandler(errors)
    server_log.propagate = False
    try:
        await _run(bench, database_url)
    finally:
        server_log.removeHandler(errors)
        server_log.propagate = True
        if errors.count:
            print(f"  (the feed server logged {errors.count} errors; the first: {errors.first})")


async def _run(bench: Bench, database_url: str) -> None:
    dsn = asyncpg_dsn(database_url)
    feed = entry.feed_plugin(database_url)
    bare = BareFanOut(dsn)

    @get("/bare", sync_to_thread=False)
    def bare_stream() -> ServerSentEvent:
        return ServerSentEvent(bare.stream())

    app = Litestar(
        plugins=[feed],
        route_handlers=[bare_stream],
        on_startup=[bare.start],
        on_shutdown=[bare.close],
    )
    server, task, base = await serve(app)
    engine = create_engine(database_url, pool_size=4)
    notifier = await asyncpg.connect(dsn)

    async def write_feed(key: str) -> float:
        await append_timeline(engine, key)
        committed = time.perf_counter()
        feed.poke()
        return committed

    async def write_bare(key: str) -> float:
        await append_timeline(engine, key)
        committed = time.perf_counter()
        await notifier.execute(f"NOTIFY {BARE}, '{key}'")
        return committed

    limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        for n in (1, 100):
            ours, trouble = await delivery(client, "/v1/events/stream", n, write_feed)
            theirs, bare_trouble = await delivery(client, "/bare", n, write_bare)
            if bare_trouble:
                trouble += f"{'; ' if trouble else ''}bare fan-out: {bare_trouble}"
            for p in (50, 99):
                bench.record(
                    f"feed.delivery_p{p} ({n} sub)",
                    percentile(ours, p),
                    "ms",
                    "bare LISTEN/NOTIFY SSE fan-out",
                    percentile(theirs, p),
                    higher_is_better=False,
                    note=trouble,
                    broken=bool(trouble),
                )
        raw = await raw_listen_notify(dsn)
        bench.record(
            "feed.raw_notify_p99",
            percentile(raw, 99),
            "ms",
            "raw NOTIFY p50",
            percentile(raw, 50),
            higher_is_better=False,
            note="NOTIFY sent → listener callback, two asyncpg connections",
        )

    await page_read(bench, database_url, dsn)
    await notifier.close()
    await engine.dispose()
    server.should_exit = True
    await task
