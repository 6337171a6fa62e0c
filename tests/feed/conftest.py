"""A live server with the feed plugin: SSE needs a real socket, not a buffering test client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.plugins.problem_details import ProblemDetailsPlugin

from timeline.api.errors import problem_details_config
from timeline.feed.hub import Hub
from timeline.feed.plugin import FeedPlugin


@pytest.fixture(scope="session")
async def feed_plugin(database_url: str) -> AsyncIterator[FeedPlugin]:
    plugin = FeedPlugin(database_url, buffer_capacity=200)
    # With the API's one exception map, as `create_app` mounts it: a bad cursor is its 400.
    app = Litestar(plugins=[ProblemDetailsPlugin(problem_details_config()), plugin])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    plugin.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield plugin
    server.should_exit = True
    await task


@pytest.fixture
def hub(feed_plugin: FeedPlugin) -> Hub:
    assert feed_plugin.hub is not None
    return feed_plugin.hub


@pytest.fixture
async def client(feed_plugin: FeedPlugin) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=feed_plugin.base_url,  # type: ignore[attr-defined]
        timeout=30,
        limits=limits,
    ) as client:
        yield client


async def end_cursor(client: httpx.AsyncClient) -> str:
    """The cursor at the end of the feed now."""
    response = await client.get("/v1/events", params={"limit": 1000})
    cursor: str = response.json()["next_cursor"]
    while response.json()["events"]:
        response = await client.get("/v1/events", params={"limit": 1000, "after": cursor})
        cursor = response.json()["next_cursor"]
    return cursor


async def read_all(
    client: httpx.AsyncClient, after: str, **params: object
) -> list[dict[str, object]]:
    """Every event after `after`, paging to the end."""
    events: list[dict[str, object]] = []
    while True:
        response = await client.get("/v1/events", params={"after": after, "limit": 1000, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        events.extend(body["events"])
        if not body["events"]:
            return events
        after = body["next_cursor"]


async def settled(
    client: httpx.AsyncClient, after: str, positions: list[int]
) -> list[dict[str, object]]:
    """Every event after `after` once all of `positions` are readable.

    The horizon is the cluster's: another session's open transaction holds it back for a while.
    """
    wanted = set(positions)
    for _ in range(600):
        events = await read_all(client, after)
        if wanted <= {e["position"] for e in events}:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError("the feed never reached the committed events")
