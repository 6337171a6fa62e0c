"""The feed through database faults: a restart, its connections cut off, a freeze.

Each test runs the whole API (create_app) under uvicorn in this process, on a
throwaway cluster of its own (tests/cluster.py), with a live SSE subscriber
and a writer posting timelines before, during and after the fault. After it,
with the same API process: GET /v1/events answers 200, the live subscriber
received every acknowledged (201) event exactly once and in feed order
without reconnecting, and the paged feed lists each exactly once. During it,
the feed answers only 503 problem+json; nothing of the feed logs an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.cluster import Cluster, throwaway_cluster
from tests.feed.sse import append_timeline, messages
from timeline.api.app import create_app
from timeline.commands.keys import create_key
from timeline.config import Settings
from timeline.feed.filters import FeedFilter
from timeline.feed.hub import Hub
from timeline.feed.plugin import FeedPlugin
from timeline.feed.stream import FeedStream
from timeline.migrate import migrate
from timeline.store.db import API_TIMEOUTS, create_engine


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as started:
        migrate(started.url)
        yield started


@pytest.fixture(scope="module")
async def write_auth(cluster: Cluster) -> dict[str, str]:
    engine = create_engine(cluster.url, pool_size=1)
    try:
        async with engine.begin() as conn:
            _, secret = await create_key(conn, ["write"], "fault tests")
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def api(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the cluster, served on a real socket (SSE), and a client of it."""
    app = create_app(Settings(), cluster.url)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
    timeout = httpx.Timeout(10.0, read=None)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=timeout, limits=limits
    ) as client:
        yield client
    server.should_exit = True
    await task


def feed_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Error records of the feed, or of uvicorn (a response that broke mid-body)."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("timeline.feed", "uvicorn"))
    ]


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.05)


async def end_cursor(client: httpx.AsyncClient) -> str:
    cursor: str | None = None
    while True:
        params = {"limit": "1000", **({"after": cursor} if cursor else {})}
        response = await client.get("/v1/events", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        cursor = body["next_cursor"]
        if not body["events"]:
            return str(cursor)


async def paged_feed(client: httpx.AsyncClient, after: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    while True:
        response = await client.get("/v1/events", params={"after": after, "limit": "1000"})
        assert response.status_code == 200, response.text
        body = response.json()
        if not body["events"]:
            return events
        events.extend(body["events"])
        after = body["next_cursor"]


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["status"] == 503


@dataclass
class Follower:
    """A live SSE subscriber from `start`; resumes by Last-Event-ID only if its stream ends."""

    client: httpx.AsyncClient
    start: str
    ids: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    resumes: int = 0
    listening: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while True:
            headers = {"Last-Event-ID": self.ids[-1]} if self.ids else {}
            params = {} if self.ids else {"after": self.start}
            with contextlib.suppress(httpx.TransportError):
                async with self.client.stream(
                    "GET", "/v1/events/stream", params=params, headers=headers
                ) as response:
                    assert response.status_code == 200
                    async for message in messages(response):
                        self.listening.set()
                        if message.id is not None:
                            self.ids.append(message.id)
                            self.slugs.append(json.loads(message.data)["stream_id"])
            self.resumes += 1
            await asyncio.sleep(0.1)


@dataclass
class Writer:
    """Opens timelines one after another; what was acknowledged, and every status seen."""

    client: httpx.AsyncClient
    auth: dict[str, str]
    acknowledged: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def write(self) -> int:
        slug = f"w-{uuid.uuid4().hex[:12]}"
        body = {"slug": slug, "title": "fault", "description": "", "region": "r"}
        response = await self.client.post("/v1/timelines", json=body, headers=self.auth)
        self.statuses.append(response.status_code)
        if response.status_code == 201:
            self.acknowledged.append(slug)
        else:
            assert_unavailable(response)
        return response.status_code

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.write()
            await asyncio.sleep(0.02)

    async def writes_again(self) -> bool:
        return await self.write() == 201


async def feed_answers(client: httpx.AsyncClient | AsyncTestClient[Litestar]) -> bool:
    response = await client.get("/v1/events", params={"limit": "1"})
    if response.status_code != 200:
        assert_unavailable(response)
    return response.status_code == 200


Fault = Callable[[Callable[[], None]], Awaitable[None]]


async def through_a_fault(
    api: httpx.AsyncClient,
    auth: dict[str, str],
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Subscribe and write, run `fault` while writing, recover, and check the feed.

    `fault` calls the function it is given while the database is away: a second
    subscriber then joins from the same start, so its stream must catch up from
    the store through the outage.
    """
    start = await end_cursor(api)
    live = Follower(api, start)
    late = Follower(api, start)
    tasks = [asyncio.create_task(live.run())]
    await asyncio.wait_for(live.listening.wait(), 10)
    writer = Writer(api, auth)
    for _ in range(5):
        assert await writer.write() == 201
    stop = asyncio.Event()
    writing = asyncio.create_task(writer.run(stop))
    await asyncio.sleep(0.3)
    await fault(lambda: tasks.append(asyncio.create_task(late.run())))
    assert len(tasks) == 2, "the fault let the late subscriber join"
    # Full service with the same API process: the feed, and writes.
    await until(lambda: feed_answers(api), 30, "GET /v1/events answers 200")
    await until(writer.writes_again, 30, "writes answer 201")
    await asyncio.sleep(0.3)
    stop.set()
    await writing
    for _ in range(5):
        assert await writer.write() == 201
    acknowledged = writer.acknowledged
    assert len(acknowledged) >= 10

    async def all_delivered() -> bool:
        return all(set(acknowledged) <= set(f.slugs) for f in (live, late))

    await until(all_delivered, 30, "both subscribers receive every acknowledged event")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    paged = await paged_feed(api, start)
    paged_slugs = [str(e["stream_id"]) for e in paged]
    for slug in acknowledged:
        assert paged_slugs.count(slug) == 1, slug
    for follower in (live, late):
        # Each got the feed itself: every event once, in the feed's order, on one stream.
        assert follower.ids == [e["id"] for e in paged][: len(follower.ids)]
        assert follower.resumes == 0, "the stream should not have ended"
    assert set(writer.statuses) <= {201, 503}
    assert feed_errors(caplog) == []


async def test_a_restart_of_the_database_under_writes_loses_and_repeats_nothing(
    api: httpx.AsyncClient,
    write_auth: dict[str, str],
    cluster: Cluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def restart(while_away: Callable[[], None]) -> None:
        await asyncio.to_thread(cluster.stop)
        while_away()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.start)

    await through_a_fault(api, write_auth, restart, caplog)


@pytest.mark.parametrize("connections", ["timeline-feed%", "timeline%"])
async def test_cutting_off_the_connections_from_the_server_side_loses_and_repeats_nothing(
    api: httpx.AsyncClient,
    write_auth: dict[str, str],
    cluster: Cluster,
    caplog: pytest.LogCaptureFixture,
    connections: str,
) -> None:
    async def cut_off(right_after: Callable[[], None]) -> None:
        assert await asyncio.to_thread(cluster.terminate, connections) >= 1
        right_after()

    await through_a_fault(api, write_auth, cut_off, caplog)


async def test_a_frozen_database_gets_503s_within_the_bound_and_full_service_after(
    api: httpx.AsyncClient,
    write_auth: dict[str, str],
    cluster: Cluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def freeze_for_five_seconds(while_frozen: Callable[[], None]) -> None:
        cluster.freeze()
        try:
            thawed_at = time.monotonic() + 5
            while_frozen()
            await asyncio.sleep(0.2)
            answers = 0
            while time.monotonic() < thawed_at - 1.5:
                asked = time.monotonic()
                response = await api.get("/v1/events", params={"limit": "10"})
                elapsed = time.monotonic() - asked
                assert_unavailable(response)
                assert elapsed < 5, f"503 after {elapsed:.1f} s"
                answers += 1
            assert answers >= 1
            await asyncio.sleep(max(0.0, thawed_at - time.monotonic()))
        finally:
            cluster.thaw()

    await through_a_fault(api, write_auth, freeze_for_five_seconds, caplog)


async def test_a_frozen_database_times_the_hubs_read_out_and_it_resumes_after_the_thaw(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(cluster.url, pool_size=2, timeouts=API_TIMEOUTS)
    hub = Hub(engine, cluster.url, idle_poll=0.2)
    await hub.start()
    try:
        stream = FeedStream(hub, engine, hub.cursor, FeedFilter()).messages()
        await anext(stream)  # the retry hint
        first = asyncio.create_task(anext(stream))  # registers, then waits for an event
        await until(lambda: _true(hub.subscriber_count == 1), 10, "the stream registers")
        before = hub._listen
        cluster.freeze()
        try:
            frozen = time.monotonic()
            hub.wake()
            await until(lambda: _true(not hub.connected), 5, "the hub's read times out")
            assert time.monotonic() - frozen < 5
            assert not first.done()
        finally:
            cluster.thaw()
        [position] = await append_timeline(engine, f"thawed-{uuid.uuid4().hex[:8]}")
        hub.wake()
        message = await asyncio.wait_for(first, 30)
        assert json.loads(str(message.data))["position"] == position
        assert hub.connected
        assert hub._listen is not before, "the hub reads on a connection of its own again"
        await stream.aclose()
    finally:
        await hub.close()
        await engine.dispose()
    # One warning for the outage, nothing at error level.
    said = [r for r in caplog.records if r.name == "timeline.feed.hub"]
    assert [r.levelno for r in said if r.levelno >= logging.WARNING] == [logging.WARNING]
    assert feed_errors(caplog) == []


async def _true(value: bool) -> bool:
    return value


async def test_the_feed_alone_answers_503_problem_json_while_the_database_is_down(
    cluster: Cluster,
) -> None:
    plugin = FeedPlugin(cluster.url)
    async with AsyncTestClient(Litestar(plugins=[plugin])) as client:
        assert (await client.get("/v1/events")).status_code == 200
        await asyncio.to_thread(cluster.stop)
        try:
            assert_unavailable(await client.get("/v1/events"))
        finally:
            await asyncio.to_thread(cluster.start)
        await until(lambda: feed_answers(client), 30, "the feed answers again")
