"""The event store's write path against the physical limit and a peer library.

Figures (events/s, each beside a baseline measured in the same run, same database):
- append.1_client / append.8_clients: one event per transaction through
  `append_to_stream` (OCC check and idempotency key) vs raw asyncpg single-row
  autocommit INSERTs of the same payload into a plain table;
- append.batch_100: 100 events per append vs a raw COPY of the same rows;
- peer.eventsourcing: append.8_clients vs the eventsourcing package's PostgreSQL
  recorder saving one-event aggregates from 8 threads.
Also, for "where the time goes": the same append as a bare autocommit call of
`timeline_append` and as BEGIN + call + COMMIT, both on raw asyncpg.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg

from tests.bench.harness import Bench
from timeline.domain.events import TimelineRetitled
from timeline.store.append import StreamRef, append_to_stream, request_hash
from timeline.store.codec import encode_data
from timeline.store.engine import asyncpg_dsn, create_engine

SECONDS = 3.0  # per figure
BATCH = 100

EVENT = TimelineRetitled(slug="bench", title="Ceasefire talks in Moscow after ten hours")
DATA = encode_data(EVENT)

RAW_TABLE = """
CREATE TABLE IF NOT EXISTS bench_raw (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_type text NOT NULL, stream_id text NOT NULL, version bigint NOT NULL,
  type text NOT NULL, data jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
)"""
RAW_INSERT = (
    "INSERT INTO bench_raw (stream_type, stream_id, version, type, data) "
    "VALUES ('bench', $1, $2, 'TimelineRetitled', $3::jsonb)"
)
CALL = (
    "SELECT * FROM timeline_append('bench', $1, $2, ARRAY['TimelineRetitled'], ARRAY[1], "
    "ARRAY[$3], ARRAY[NULL::timestamptz], '{}', NULL, $4, $5, 86400)"
)


async def for_a_while(clients: int, step: Callable[[int, int], Awaitable[int]]) -> float:
    """Events/s of `clients` tasks each calling step(client, i) until time is up."""
    deadline = time.perf_counter() + SECONDS
    counts = [0] * clients

    async def client(c: int) -> None:
        for i in itertools.count():
            if time.perf_counter() >= deadline:
                return
            counts[c] += await step(c, i)

    start = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    return sum(counts) / (time.perf_counter() - start)


async def run(bench: Bench, database_url: str) -> None:
    engine = create_engine(database_url, pool_size=8, application="bench")
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=8, max_size=8)
    assert pool is not None
    await pool.execute(RAW_TABLE)
    run_id = uuid.uuid4().hex[:8]
    try:
        for clients in (1, 8):
            label = f"{clients}_client" + ("s" if clients > 1 else "")
            prefix = f"{run_id}-{label}"

            async def store_step(c: int, i: int, prefix: str = prefix) -> int:
                stream = StreamRef("bench", f"{prefix}-{c}")
                async with engine.begin() as conn:
                    await append_to_stream(
                        conn, stream, i, [EVENT], idempotency_key=f"{prefix}-{c}-{i}"
                    )
                return 1

            async def raw_step(c: int, i: int, prefix: str = prefix) -> int:
                await pool.execute(RAW_INSERT, f"{prefix}-{c}", i + 1, DATA)
                return 1

            async def call_step(c: int, i: int, prefix: str = prefix) -> int:
                key = f"{prefix}-call-{c}-{i}"
                await pool.execute(CALL, f"{prefix}-call-{c}", i, DATA, key, request_hash(key))
                return 1

            async def tx_step(c: int, i: int, prefix: str = prefix) -> int:
                key = f"{prefix}-tx-{c}-{i}"
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(CALL, f"{prefix}-tx-{c}", i, DATA, key, request_hash(key))
                return 1

            raw = await for_a_while(clients, raw_step)
            ours = await for_a_while(clients, store_step)
            bench.record(f"append.{label}", ours, "events/s", f"raw INSERT x{clients}", raw)
            call = await for_a_while(clients, call_step)
            bench.record(
                f"append.{label}.bare_call",
                call,
                "events/s",
                f"raw INSERT x{clients}",
                raw,
                note="timeline_append in autocommit on raw asyncpg: the function's own cost",
            )
            in_tx = await for_a_while(clients, tx_step)
            bench.record(
                f"append.{label}.raw_tx",
                in_tx,
                "events/s",
                f"raw INSERT x{clients}",
                raw,
                note="BEGIN + timeline_append + COMMIT on raw asyncpg: the round trips' cost",
            )
            if clients == 8:
                eight = ours

        batch = [EVENT] * BATCH

        async def batch_step(c: int, i: int) -> int:
            async with engine.begin() as conn:
                await append_to_stream(
                    conn,
                    StreamRef("bench", f"{run_id}-batch"),
                    i * BATCH,
                    batch,
                    idempotency_key=f"{run_id}-batch-{i}",
                )
            return BATCH

        async def copy_step(c: int, i: int) -> int:
            rows = [
                ("bench", f"{run_id}-copy", i * BATCH + n, "TimelineRetitled", DATA)
                for n in range(1, BATCH + 1)
            ]
            async with pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "bench_raw",
                    records=rows,
                    columns=["stream_type", "stream_id", "version", "type", "data"],
                )
            return BATCH

        copy = await for_a_while(1, copy_step)
        batched = await for_a_while(1, batch_step)
        bench.record("append.batch_100", batched, "events/s", "raw COPY of 100 rows", copy)

        peer = await asyncio.to_thread(eventsourcing_rate, database_url, 8)
        bench.record(
            "peer.eventsourcing",
            eight,
            "events/s",
            "eventsourcing PostgreSQL x8 threads",
            peer,
            note="value is append.8_clients; baseline is the peer library",
        )
    finally:
        await pool.close()
        await engine.dispose()


def eventsourcing_rate(database_url: str, threads: int) -> float:
    """Events/s of eventsourcing's PostgreSQL application recorder, one-event aggregates."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate

    class Report(Aggregate):
        pass

    parts = urlsplit(database_url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_POOL_SIZE": str(threads),
        "POSTGRES_SCHEMA": "public",
    }
    app = Application(env=env)
    app.save(Report())  # creates the tables outside the timed part
    deadline = time.perf_counter() + SECONDS
    counts = [0] * threads

    def client(t: int) -> None:
        while time.perf_counter() < deadline:
            app.save(Report())
            counts[t] += 1

    workers = [threading.Thread(target=client, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    app.close()
    return sum(counts) / elapsed
