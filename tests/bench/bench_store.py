"""The event store's write path against the physical limit and a peer library.

Figures (events/s, each beside a baseline measured in the same run, same database):
- append.1_client / append.8_clients: one event per transaction through
  the store's append (entry.append: OCC check and idempotency key) vs raw asyncpg single-row
  autocommit INSERTs of the same payload into a plain table;
- append.batch_100: 100 events per append vs a raw COPY of the same rows;
- peer.eventsourcing: append.8_clients vs the eventsourcing package's PostgreSQL
  recorder saving one-event aggregates from 8 threads.
Also, for "where the time goes": the same append as a bare autocommit call of
`timeline_append` and as BEGIN + call + COMMIT, both on raw asyncpg.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bench import entry
from tests.bench.harness import Bench
from timeline.domain.events import TimelineRetitled
from timeline.store.append import request_hash
from timeline.store.codec import encode_data
from timeline.store.db import asyncpg_dsn

# Each figure is the sum of ROUNDS slices of SECONDS, taken in turn with its
# baseline's slices: the machine's load drifts by 2-3x within a minute, and
# interleaving makes both sides see the same drift.
SECONDS = 0.5
ROUNDS = 6
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
    "ARRAY[$3::jsonb], ARRAY[NULL::timestamptz], '{}', NULL, $4, $5, 86400)"
)


Step = Callable[[int, int], Awaitable[int]]


class Slices:
    """Runs `clients` tasks of a step for a slice of time, resuming where the last slice ended."""

    def __init__(self, clients: int, step: Step) -> None:
        self.clients, self.step = clients, step
        self.next = [0] * clients  # each client's next i, so streams and keys stay fresh
        self.done, self.elapsed = 0, 0.0

    async def slice(self) -> None:
        deadline = time.perf_counter() + SECONDS

        async def client(c: int) -> None:
            while time.perf_counter() < deadline:
                # Not `self.done += await ...`: that reads `done` before the await
                # and loses the other clients' counts made meanwhile.
                done = await self.step(c, self.next[c])
                self.done += done
                self.next[c] += 1

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(self.clients)))
        self.elapsed += time.perf_counter() - start

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0


async def interleaved(clients: int, *steps: Step) -> list[float]:
    """Items/s of each step, measured in ROUNDS turns so that all see the same load."""
    runs = [Slices(clients, step) for step in steps]
    for _ in range(ROUNDS):
        for run in runs:
            await run.slice()
    return [run.rate for run in runs]


async def _call_works(pool: asyncpg.Pool) -> bool:
    """Whether CALL still matches the server-side function (the write path may change it)."""
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(CALL, "probe", 0, DATA, "probe", request_hash("probe"))
        except asyncpg.PostgresError:
            return False
        finally:
            await tx.rollback()
    return True


def appends(engine: AsyncEngine, prefix: str) -> Step:
    """A step that appends one event, with a key, in a transaction of its own, as the app does."""

    async def step(c: int, i: int) -> int:
        key = f"{prefix}-{c}-{i}"
        await entry.append(engine, "bench", f"{prefix}-{c}", i, [EVENT], idempotency_key=key)
        return 1

    return step


async def run(bench: Bench, database_url: str) -> None:
    engine = entry.create_engine(database_url, pool_size=8, application="bench")
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=8, max_size=8)
    assert pool is not None
    await pool.execute(RAW_TABLE)
    run_id = uuid.uuid4().hex[:8]
    try:
        for clients in (1, 8):
            label = f"{clients}_client" + ("s" if clients > 1 else "")
            prefix = f"{run_id}-{label}"

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

            if not await _call_works(pool):
                print("  (timeline_append's signature changed: the bare_call figures skipped)")
                raw, ours = await interleaved(clients, raw_step, appends(engine, prefix))
                bench.record(f"append.{label}", ours, "events/s", f"raw INSERT x{clients}", raw)
                continue
            raw, ours, call, in_tx = await interleaved(
                clients, raw_step, appends(engine, prefix), call_step, tx_step
            )
            bench.record(f"append.{label}", ours, "events/s", f"raw INSERT x{clients}", raw)
            bench.record(
                f"append.{label}.bare_call",
                call,
                "events/s",
                f"raw INSERT x{clients}",
                raw,
                note="timeline_append in autocommit on raw asyncpg: the function's own cost",
            )
            bench.record(
                f"append.{label}.raw_tx",
                in_tx,
                "events/s",
                f"raw INSERT x{clients}",
                raw,
                note="BEGIN + timeline_append + COMMIT on raw asyncpg: the round trips' cost",
            )

        batch = [EVENT] * BATCH

        async def batch_step(c: int, i: int) -> int:
            key = f"{run_id}-batch-{i}"
            await entry.append(
                engine, "bench", f"{run_id}-batch", i * BATCH, batch, idempotency_key=key
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

        copy, batched = await interleaved(1, copy_step, batch_step)
        bench.record("append.batch_100", batched, "events/s", "raw COPY of 100 rows", copy)

        ours, peer = Slices(8, appends(engine, f"{run_id}-peer")), Peer(database_url, 8)
        try:
            for _ in range(ROUNDS):
                await ours.slice()
                await asyncio.to_thread(peer.slice)
        finally:
            peer.close()
        bench.record(
            "peer.eventsourcing",
            ours.rate,
            "events/s",
            "eventsourcing PostgreSQL x8 threads",
            peer.rate,
            note="value is append.8_clients measured in turns with the peer",
        )
    finally:
        await pool.close()
        await engine.dispose()


class Peer:
    """eventsourcing's PostgreSQL application recorder saving one-event aggregates."""

    def __init__(self, database_url: str, threads: int) -> None:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate

        class Report(Aggregate):
            pass

        # libpq's own reading of the URL: the embedded server's is a Unix socket named
        # in the query (`postgresql://postgres:@/db?host=/path`), with no host or port
        # in the netloc. Read as host 127.0.0.1 port 5432, the peer asked another
        # server (or none) for this database and its pool timed out after 30 s.
        parts = conninfo_to_dict(asyncpg_dsn(database_url))
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": str(parts["dbname"]),
            "POSTGRES_HOST": str(parts.get("host") or "127.0.0.1"),
            "POSTGRES_PORT": str(parts.get("port") or 5432),
            "POSTGRES_USER": str(parts.get("user") or "postgres"),
            "POSTGRES_PASSWORD": str(parts.get("password") or ""),
            "POSTGRES_POOL_SIZE": str(threads),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_SCHEMA": "public",
        }
        self.report, self.threads = Report, threads
        self.app = Application(env=env)
        self.app.save(Report())  # creates the tables outside the timed part
        self.done, self.elapsed = 0, 0.0

    def slice(self) -> None:
        deadline = time.perf_counter() + SECONDS
        counts = [0] * self.threads

        def client(t: int) -> None:
            while time.perf_counter() < deadline:
                self.app.save(self.report())
                counts[t] += 1

        workers = [threading.Thread(target=client, args=(t,)) for t in range(self.threads)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.elapsed += time.perf_counter() - start
        self.done += sum(counts)

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed else 0.0

    def close(self) -> None:
        self.app.close()
