"""The relay and the standby: throughput, end-to-end delivery, replay lag.

- relay.throughput: a backlog of events published by the relay (feed page →
  JetStream publish awaiting each ack → checkpoint in batches), beside nats-py
  publishing the same bodies, subjects and ids to JetStream awaiting each ack.
- relay.e2e_p99: 8 writers commit (poking the feed's notifier, as the API does),
  the relay runs as its own process (`timeline relay nats`), and a consumer on a
  JetStream durable consumer stamps each arrival; commit → arrival, beside the
  broker alone: publish → the same consumer's arrival.
- replica.replay_lag_p99: a streaming standby (pg_basebackup -R of a throwaway
  cluster, synchronous_commit on as a server in service runs) under 8 writers:
  commit on the primary → the event visible on the standby, beside the same
  visibility check answered by the primary.

Needs NATS with JetStream at TIMELINE_TEST_NATS_URL (default 127.0.0.1:4222).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import msgspec
import nats
import psycopg

from tests.bench.harness import Bench, another_database, percentile
from tests.relay.conftest import NATS_URL, delete_stream, nats_answers
from tests.replica.standby import primary_and_standby
from tests.store.streams import fresh_stream, opened, retitled
from timeline.feed.notify import Notifier
from timeline.feed.shape import CURSOR, JSON, event_text, live_columns
from timeline.migrate import migrate
from timeline.relay.broker import connect_nats, ensure_stream
from timeline.relay.publish import Relay, RelayOptions
from timeline.store.append import append_to_stream
from timeline.store.db import connect_dedicated, create_engine
from timeline.store.feed import read_feed_rows

BACKLOG = 5000
WRITERS = 8
E2E_SECONDS = 8.0
LAG_SECONDS = 6.0


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"BENCH_{tag}", f"bench{tag}"


async def _fill(database_url: str, events: int) -> None:
    engine = create_engine(database_url, pool_size=4)
    try:

        async def one(share: int) -> None:
            done = 0
            while done < share:
                stream = fresh_stream()
                async with engine.begin() as conn:
                    batch = [opened(stream)] + [retitled(stream, "r")] * 49
                    await append_to_stream(conn, stream, 0, batch)
                done += 50

        await asyncio.gather(*(one(events // 4) for _ in range(4)))
    finally:
        await engine.dispose()


async def _feed_messages(database_url: str, prefix: str) -> list[tuple[str, bytes, str]]:
    """(subject, body, id) of every feed event, as the relay would publish them."""
    conn = await connect_dedicated(database_url, application="bench")
    try:
        store = await conn.fetchval("SELECT store_id::text FROM store_meta")
        out: list[tuple[str, bytes, str]] = []
        after = None
        while True:
            page = await read_feed_rows(
                conn, store, after, 1000, columns=live_columns(store), cursor_column=CURSOR
            )
            for row, cursor in zip(page.rows, page.cursors, strict=True):
                subject = f"{prefix}.{row['stream_type']}.{row['type']}"
                body = event_text(row["type"], row["schema_version"], row[JSON])
                out.append((subject, body.encode(), cursor))
            after = page.next_cursor
            if page.at_horizon:
                return out
    finally:
        await conn.close()


async def _stream_count(js: Any, name: str) -> int:
    info = await js.stream_info(name)
    return int(info.state.messages)


async def throughput(bench: Bench, database_url: str) -> None:
    await _fill(database_url, BACKLOG)
    stream, prefix = _names()
    base_stream, base_prefix = _names()
    nc = await connect_nats(NATS_URL)
    js = nc.jetstream()
    try:
        # Baseline: nats-py alone, the same messages, each awaited for its ack.
        messages = await _feed_messages(database_url, base_prefix)
        await ensure_stream(js, base_stream, base_prefix, 120.0)
        started = time.perf_counter()
        for subject, body, msg_id in messages:
            await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id})
        baseline = len(messages) / (time.perf_counter() - started)
        # Pipelined (publish_async), for the record: what a window of acks in flight gives.
        piped_stream, piped_prefix = _names()
        await ensure_stream(js, piped_stream, piped_prefix, 120.0)
        started = time.perf_counter()
        futures = [
            await js.publish_async(
                subject.replace(base_prefix, piped_prefix, 1), body, headers={"Nats-Msg-Id": i}
            )
            for subject, body, i in messages
        ]
        await asyncio.gather(*futures)
        piped = len(messages) / (time.perf_counter() - started)
        await delete_stream(NATS_URL, piped_stream)

        options = RelayOptions(nats_url=NATS_URL, stream=stream, subject_prefix=prefix)
        relay = Relay(database_url, options, log=lambda _: None)
        started = time.perf_counter()
        task = asyncio.create_task(relay.run())
        while True:
            with contextlib.suppress(Exception):
                if await _stream_count(js, stream) >= len(messages):
                    break
            await asyncio.sleep(0.01)
        ours = len(messages) / (time.perf_counter() - started)
        relay.stop()
        await task
    finally:
        await nc.close()
        await delete_stream(NATS_URL, stream)
        await delete_stream(NATS_URL, base_stream)
    bench.record(
        "relay.throughput",
        ours,
        "events/s",
        "nats-py js.publish, each acked",
        baseline,
        note=f"{len(messages)} events, from the relay's start (connect, lock, stream check); "
        f"nats-py publish_async (pipelined acks) did {piped:.0f}/s",
    )


async def end_to_end(bench: Bench, database_url: str) -> None:
    stream, prefix = _names()
    engine = create_engine(database_url, pool_size=WRITERS + 2)
    notifier = Notifier(database_url)
    await notifier.start()
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    committed: dict[tuple[str, int], float] = {}
    arrived: dict[tuple[str, int], float] = {}
    decoder = msgspec.json.Decoder()
    # The relay in a process of its own, as it runs in service (`timeline relay nats`).
    relay = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
        [sys.executable, "-m", "timeline.cli", "relay", "nats", "--server", NATS_URL,
         "--stream", stream, "--subject-prefix", prefix],
        env={**os.environ, "TIMELINE_DATABASE_URL": database_url},
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            with contextlib.suppress(Exception):
                await js.stream_info(stream)
                break
            await asyncio.sleep(0.05)
        await ensure_stream(js, stream, prefix, 120.0)

        async def on_message(message: Any) -> None:
            event = decoder.decode(message.data)
            arrived[(event["stream_id"], event["version"])] = time.perf_counter()
            await message.ack()

        await js.subscribe(f"{prefix}.>", durable="bench", stream=stream, cb=on_message)
        stopping = asyncio.Event()

        async def writer() -> None:
            while not stopping.is_set():
                ref = fresh_stream()
                async with engine.begin() as conn:
                    await append_to_stream(conn, ref, 0, [opened(ref)])
                committed[(ref.id, 1)] = time.perf_counter()
                notifier.poke()
                await asyncio.sleep(0.01)

        writers = [asyncio.create_task(writer()) for _ in range(WRITERS)]
        await asyncio.sleep(E2E_SECONDS)
        stopping.set()
        await asyncio.gather(*writers)
        deadline = time.perf_counter() + 30
        while not committed.keys() <= arrived.keys() and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        ours = [(arrived[k] - t) * 1000 for k, t in committed.items() if k in arrived]
        lost = len(committed) - len(ours)

        # Baseline: the broker alone, publish → the same kind of consumer, at a like rate.
        base_stream, base_prefix = _names()
        await ensure_stream(js, base_stream, base_prefix, 120.0)
        sent: dict[str, float] = {}
        got: dict[str, float] = {}

        async def on_base(message: Any) -> None:
            got[message.headers["Nats-Msg-Id"]] = time.perf_counter()
            await message.ack()

        await js.subscribe(f"{base_prefix}.>", durable="base", stream=base_stream, cb=on_base)
        rate = max(1, len(committed)) / E2E_SECONDS
        for i in range(len(committed)):
            msg_id = str(i)
            sent[msg_id] = time.perf_counter()
            await js.publish(f"{base_prefix}.x", b"{}", headers={"Nats-Msg-Id": msg_id})
            await asyncio.sleep(max(0.0, 1 / rate - 0.0005))
        deadline = time.perf_counter() + 10
        while len(got) < len(sent) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        theirs = [(got[k] - t) * 1000 for k, t in sent.items() if k in got]
        await delete_stream(NATS_URL, base_stream)
    finally:
        relay.terminate()
        relay.wait(20)
        await nc.close()
        await notifier.close()
        await engine.dispose()
        await delete_stream(NATS_URL, stream)
    bench.record(
        "relay.e2e_p99",
        percentile(ours, 99),
        "ms",
        "JetStream alone, publish → consumer p99",
        percentile(theirs, 99),
        higher_is_better=False,
        note=f"{len(ours)} commits by {WRITERS} writers, p50 {percentile(ours, 50):.1f} ms"
        + (f"; {lost} never arrived" if lost else ""),
        broken=lost > 0,
    )


async def replay_lag(bench: Bench) -> None:
    with primary_and_standby() as (primary, standby):
        with psycopg.connect(primary.url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET synchronous_commit = on")
            conn.execute("SELECT pg_reload_conf()")
        await asyncio.to_thread(migrate, primary.url)
        await asyncio.to_thread(standby.wait_replayed)
        engine = create_engine(primary.url, pool_size=WRITERS + 2)
        lags: list[float] = []
        checks: list[float] = []
        try:
            on_standby = await connect_dedicated(standby.url, application="bench-lag")
            on_primary = await connect_dedicated(primary.url, application="bench-lag")
            stopping = asyncio.Event()
            sample = asyncio.Lock()

            async def visible(conn: Any, position: int) -> float:
                started = time.perf_counter()
                while not await conn.fetchval(  # noqa: ASYNC110 - polling is what is measured
                    "SELECT EXISTS (SELECT 1 FROM events WHERE position = $1)", position
                ):
                    await asyncio.sleep(0.0005)
                return (time.perf_counter() - started) * 1000

            async def writer(sampling: bool) -> None:
                while not stopping.is_set():
                    ref = fresh_stream()
                    async with engine.begin() as conn:
                        result = await append_to_stream(conn, ref, 0, [opened(ref)])
                    if sampling and not sample.locked():
                        async with sample:
                            lags.append(await visible(on_standby, result.positions[0]))
                            checks.append(await visible(on_primary, result.positions[0]))
                    await asyncio.sleep(0.005)

            tasks = [asyncio.create_task(writer(i == 0)) for i in range(WRITERS)]
            await asyncio.sleep(LAG_SECONDS)
            stopping.set()
            await asyncio.gather(*tasks)
            await on_standby.close()
            await on_primary.close()
        finally:
            await engine.dispose()
    bench.record(
        "replica.replay_lag_p99",
        percentile(lags, 99),
        "ms",
        "the same check on the primary p99",
        percentile(checks, 99),
        higher_is_better=False,
        note=f"{len(lags)} samples under {WRITERS} writers, p50 {percentile(lags, 50):.2f} ms",
    )


async def run(bench: Bench, database_url: str) -> None:
    if not nats_answers():
        print(f"  skipped: no NATS at {NATS_URL}")
        return
    await throughput(bench, database_url)
    async with another_database(database_url) as empty:  # no backlog ahead of the writes
        await end_to_end(bench, empty)
    await replay_lag(bench)
