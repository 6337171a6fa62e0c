"""GET /v1/events/stream and the hub behind it."""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.conftest import end_cursor, settled
from tests.feed.sse import Message, append_timeline, busy_writer, messages
from tests.feed.test_horizon import open_transaction_with_an_xid
from timeline.feed.filters import FeedFilter
from timeline.feed.hub import Hub
from timeline.feed.notify import send_wakeup
from timeline.feed.plugin import FeedPlugin
from timeline.feed.stream import FeedStream


async def collect(
    client: httpx.AsyncClient,
    count: int,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> list[Message]:
    """The first `count` events of a stream (comments and hints skipped)."""
    got: list[Message] = []
    async with client.stream("GET", "/v1/events/stream", params=params, headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for message in messages(r):
            if message.id is not None:
                got.append(message)
                if len(got) == count:
                    return got
    raise AssertionError("the stream ended early")


async def test_each_event_has_its_cursor_as_id_its_type_as_event_and_json_data(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    slug = f"s-{uuid.uuid4().hex[:8]}"
    positions = await append_timeline(engine, slug, count=2)
    page = await settled(client, start, positions)
    got = await collect(client, 2, params={"after": start})
    assert [m.id for m in got] == [e["id"] for e in page[:2]]
    assert [m.event for m in got] == ["TimelineOpened", "TimelineRetitled"]
    assert json.loads(got[0].data)["data"]["slug"] == slug


async def test_the_stream_opens_with_a_retry_hint(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/v1/events/stream") as r:
        first = await anext(messages(r))
    assert first.retry is not None
    assert first.retry > 0


async def test_cloudevents_on_the_stream_by_query_or_accept(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    slug = f"c-{uuid.uuid4().hex[:8]}"
    await settled(client, start, await append_timeline(engine, slug))
    [by_query] = await collect(client, 1, params={"after": start, "format": "cloudevents"})
    [by_accept] = await collect(
        client, 1, params={"after": start}, headers={"Accept": "application/cloudevents+json"}
    )
    for message in (by_query, by_accept):
        event = json.loads(message.data)
        assert event["specversion"] == "1.0"
        assert event["id"] == message.id
        assert event["subject"] == f"timeline/{slug}"
        assert event["type"] == "timeline.TimelineOpened"
        assert {"source", "time", "data"} <= event.keys()


async def test_stream_filters_by_type_and_timeline(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    a, b = f"f-{uuid.uuid4().hex[:8]}", f"f-{uuid.uuid4().hex[:8]}"
    await settled(
        client,
        start,
        await append_timeline(engine, a, count=3) + await append_timeline(engine, b, count=2),
    )
    retitled = await collect(client, 3, params={"after": start, "type": "TimelineRetitled"})
    assert [json.loads(m.data)["stream_id"] for m in retitled] == [a, a, b]
    only_b = await collect(client, 2, params={"after": start, "timeline": b})
    assert {json.loads(m.data)["stream_id"] for m in only_b} == {b}


async def read_stream_with_reconnects(
    client: httpx.AsyncClient, start: str, ids: list[str], seed: int
) -> None:
    """Follow the stream into `ids` until cancelled, hanging up at random points and resuming
    with Last-Event-ID."""
    rng = random.Random(seed)
    while True:
        headers = {"Last-Event-ID": ids[-1]} if ids else {}
        params = {} if ids else {"after": start}
        budget = rng.randint(1, 25)
        async with client.stream("GET", "/v1/events/stream", params=params, headers=headers) as r:
            async for message in messages(r):
                if message.id is not None:
                    ids.append(message.id)
                    budget -= 1
                if budget == 0:
                    break


async def test_sse_readers_under_busy_writers_see_every_committed_event_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine, feed_plugin: FeedPlugin
) -> None:
    start = await end_cursor(client)
    readers: list[list[str]] = [[], [], []]
    tasks = [
        asyncio.create_task(read_stream_with_reconnects(client, start, ids, seed))
        for seed, ids in enumerate(readers)
    ]
    results = await asyncio.gather(
        *(
            busy_writer(engine, f"sw{i}-{uuid.uuid4().hex[:6]}", 15, seed=i, poke=feed_plugin.poke)
            for i in range(8)
        )
    )
    committed = [p for positions in results for p in positions]
    final = await settled(client, start, committed)
    expected = [e["id"] for e in final]
    assert sorted(e["position"] for e in final) == sorted(committed)  # type: ignore[type-var]

    async def caught_up() -> None:
        while any(len(ids) < len(expected) for ids in readers):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await asyncio.wait_for(caught_up(), timeout=120)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ids in readers:
        assert ids == expected


async def test_a_hundred_subscribers_all_receive_a_burst(
    client: httpx.AsyncClient, engine: AsyncEngine, feed_plugin: FeedPlugin, hub: Hub
) -> None:
    before = hub.subscriber_count
    ready = asyncio.Event()

    async def subscriber() -> list[str]:
        ids: list[str] = []
        async with client.stream("GET", "/v1/events/stream") as r:
            async for message in messages(r):
                if message.id is not None:
                    ids.append(message.id)
                    if len(ids) == 20:
                        return ids
        return ids

    tasks = [asyncio.create_task(subscriber()) for _ in range(100)]
    while hub.subscriber_count < before + 100:  # noqa: ASYNC110 - polling the hub's state
        await asyncio.sleep(0.02)
    ready.set()
    start = hub.cursor
    positions: list[int] = []
    for _ in range(4):
        positions += await append_timeline(engine, f"b-{uuid.uuid4().hex[:8]}", count=5)
        feed_plugin.poke()
    expected = [e["id"] for e in (await settled(client, start, positions))[:20]]
    got = await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    assert all(ids == expected for ids in got)


async def test_a_stalled_subscriber_is_dropped_without_delaying_others_and_resumes_by_cursor(
    engine: AsyncEngine, database_url: str, client: httpx.AsyncClient
) -> None:
    hub = Hub(engine, database_url, capacity=5, idle_poll=0.05)
    await hub.start()
    try:
        stalled = FeedStream(hub, engine, hub.cursor, FeedFilter()).messages()
        brisk = FeedStream(hub, engine, hub.cursor, FeedFilter()).messages()
        await anext(stalled)  # the retry hint; then it stops reading
        await anext(brisk)
        pending = asyncio.create_task(anext(stalled))  # registers with the hub, then waits
        while hub.subscriber_count == 0:  # noqa: ASYNC110 - polling the hub's state
            await asyncio.sleep(0.01)
        brisk_ids: list[str] = []
        positions: list[int] = []
        for _ in range(4):
            positions += await append_timeline(engine, f"st-{uuid.uuid4().hex[:8]}", count=4)
            hub.wake()
            while len(brisk_ids) < len(positions):
                message = await asyncio.wait_for(anext(brisk), timeout=30)
                if message.id is not None:
                    brisk_ids.append(str(message.id))
        # The stalled one took one event and stopped: its buffer overflowed and was freed,
        # and the hub dropped it (only the brisk one is left).
        assert hub.subscriber_count == 1
        assert all(len(sub.entries) <= 5 for sub in hub._subscribers)
        stalled_ids = [str((await pending).id)]
        while len(stalled_ids) < len(positions):
            message = await asyncio.wait_for(anext(stalled), timeout=30)
            if message.id is not None:
                stalled_ids.append(str(message.id))
        assert stalled_ids == brisk_ids
        await stalled.aclose()
        await brisk.aclose()
    finally:
        await hub.close()


async def test_heartbeats_keep_an_idle_stream_alive_and_shutdown_ends_it(
    engine: AsyncEngine, database_url: str
) -> None:
    hub = Hub(engine, database_url)
    await hub.start()
    stream = FeedStream(hub, engine, hub.cursor, FeedFilter(), heartbeat=0.01).messages()
    await anext(stream)
    heartbeat = await asyncio.wait_for(anext(stream), timeout=10)
    assert heartbeat.comment == "heartbeat"
    assert heartbeat.id is None
    await hub.close()
    remaining = [m async for m in stream]
    assert all(m.id is None for m in remaining)


async def test_a_wakeup_from_another_process_reaches_the_hub(
    engine: AsyncEngine, database_url: str
) -> None:
    hub = Hub(engine, database_url, idle_poll=3600)
    await hub.start()
    try:
        stream = FeedStream(hub, engine, hub.cursor, FeedFilter()).messages()
        await anext(stream)
        first = asyncio.create_task(anext(stream))
        while hub.subscriber_count == 0:  # noqa: ASYNC110 - polling the hub's state
            await asyncio.sleep(0.01)
        [position] = await append_timeline(engine, f"x-{uuid.uuid4().hex[:8]}")
        message = None
        while message is None:
            await send_wakeup(database_url)  # again, in case the horizon held it back
            done, _ = await asyncio.wait({first}, timeout=0.2)
            message = first.result() if done else None
        assert json.loads(str(message.data))["position"] == position
        await stream.aclose()
    finally:
        await hub.close()


async def test_a_hundred_connect_disconnect_cycles_leave_no_task_or_connection(
    client: httpx.AsyncClient, hub: Hub, engine: AsyncEngine
) -> None:
    async def feed_connections() -> int:
        async with engine.connect() as conn:
            return int(
                await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE application_name = 'timeline-feed' AND datname = current_database()"
                    )
                )
                or 0
            )

    async def cycle() -> None:
        async with client.stream("GET", "/v1/events/stream") as r:
            await anext(messages(r))

    await cycle()
    tasks_before = len(asyncio.all_tasks())
    for _ in range(100):
        await cycle()
    for _ in range(500):
        if hub.subscriber_count == 0 and len(asyncio.all_tasks()) <= tasks_before:
            break
        await asyncio.sleep(0.02)
    assert hub.subscriber_count == 0
    assert len(asyncio.all_tasks()) <= tasks_before
    assert await feed_connections() <= 2 * 5  # the read pool's bound; nothing grew with cycles


async def test_an_event_held_back_by_an_open_transaction_arrives_when_it_ends_unannounced(
    engine: AsyncEngine, database_url: str
) -> None:
    hub = Hub(engine, database_url, idle_poll=3600)  # only the held-back polling can deliver
    await hub.start()
    try:
        stream = FeedStream(hub, engine, hub.cursor, FeedFilter()).messages()
        await anext(stream)
        first = asyncio.create_task(anext(stream))
        while hub.subscriber_count == 0:  # noqa: ASYNC110 - polling the hub's state
            await asyncio.sleep(0.01)
        blocker = await open_transaction_with_an_xid(database_url)
        [position] = await append_timeline(engine, f"held-{uuid.uuid4().hex[:8]}")
        hub.wake()
        await asyncio.sleep(0.2)
        assert not first.done()  # behind the open transaction's horizon
        await blocker.close()  # its end sends no wake-up
        message = await asyncio.wait_for(first, timeout=30)
        assert json.loads(str(message.data))["position"] == position
        await stream.aclose()
    finally:
        await hub.close()
