"""Who may read the feed, and how many may stream from one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import fields_of, make_key
from tests.faults.server import serve
from tests.feed.sse import messages
from timeline.api.app import create_app
from timeline.commands import keys
from timeline.config import Settings

STREAM = "/v1/events/stream"


async def test_with_reads_needing_a_key_the_feed_refuses_anyone_without_a_live_one(
    database_url: str, engine: AsyncEngine
) -> None:
    secret = await make_key(engine, "read")
    async with engine.begin() as conn:
        key_id, revoked = await keys.create_key(conn, ["read"], "to revoke")
        assert await keys.revoke_key(conn, key_id)
    app = create_app(Settings(reads_need_key=True), database_url)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        for path in ("/v1/events", "/v1/events/stream"):
            for headers in ({}, {"Authorization": f"Bearer {revoked}"}):
                response = await client.get(path, headers=headers)
                assert response.status_code == 401, (path, headers, response.text)
                assert fields_of(response) == ["Authorization"]
        page = await client.get("/v1/events", headers={"Authorization": f"Bearer {secret}"})
        assert page.status_code == 200


async def test_streams_past_the_process_limit_get_a_503_with_retry_after(
    database_url: str,
) -> None:
    with serve(database_url, TIMELINE_MAX_STREAMS="2") as server:
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=10) as client,
            contextlib.AsyncExitStack() as streams,
        ):
            first = await streams.enter_async_context(client.stream("GET", STREAM))
            assert first.status_code == 200
            # Hold each line iterator: one dropped is finalised, which closes its stream.
            first_lines = first.aiter_lines()
            await anext(first_lines)  # its body runs, so it counts
            async with client.stream("GET", STREAM) as second:
                assert second.status_code == 200
                second_lines = second.aiter_lines()
                await anext(second_lines)  # it runs, so it counts
                refused = await client.get(STREAM)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert int(refused.headers["retry-after"]) >= 1
            # the second one closed: its place is free again once the server notices
            for _ in range(100):
                async with client.stream("GET", STREAM) as again:
                    if again.status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("a closed stream kept its place")


async def _first_event(response: httpx.Response) -> dict[str, Any]:
    async for message in messages(response):
        if message.event is not None and message.data:
            event: dict[str, Any] = json.loads(message.data)
            return event
    raise AssertionError("the stream ended")


async def test_only_a_read_key_sees_who_wrote_an_event_and_in_which_request(
    database_url: str, engine: AsyncEngine
) -> None:
    writer, reader = await make_key(engine, "write"), await make_key(engine, "read")
    slug = f"t-who-{uuid.uuid4().hex[:8]}"
    as_reader = {"Authorization": f"Bearer {reader}"}
    readers = {
        "public": ({}, False),
        "write key": ({"Authorization": f"Bearer {writer}"}, False),
        "read key": (as_reader, True),
    }
    with serve(database_url) as server:
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=10) as client,
            contextlib.AsyncExitStack() as streams,
        ):
            before = (await client.get("/v1/events", params={"limit": 1, "timeline": slug})).json()
            live = {
                name: await streams.enter_async_context(
                    client.stream("GET", STREAM, params={"timeline": slug}, headers=headers)
                )
                for name, (headers, _) in readers.items()
            }
            opened = await client.post(
                "/v1/timelines",
                json={"slug": slug, "title": "T"},
                headers={"Authorization": f"Bearer {writer}", "X-Request-ID": "req-who-1"},
            )
            assert opened.status_code == 201, opened.text
            for name, (headers, private) in readers.items():
                page = await client.get("/v1/events", params={"timeline": slug}, headers=headers)
                caught_up = client.stream(
                    "GET",
                    STREAM,
                    params={"timeline": slug, "after": before["next_cursor"]},
                    headers=headers,
                )
                async with caught_up as replay:
                    seen = {
                        "page": page.json()["events"][0],
                        "catch-up": await _first_event(replay),
                        "live": await _first_event(live[name]),
                    }
                for path, event in seen.items():
                    assert event["stream_id"] == slug, (name, path)
                    metadata = event["metadata"]
                    if private:
                        assert metadata["actor"].startswith("key:"), (name, path, metadata)
                        assert metadata["request_id"] == "req-who-1", (name, path, metadata)
                    else:
                        assert metadata == {}, (name, path, metadata)
                assert "authorization" in page.headers["vary"].lower()
            full = await client.get("/v1/events", params={"limit": 1}, headers=as_reader)
            assert full.headers["cache-control"].startswith("private"), full.headers
            public = await client.get("/v1/events", params={"limit": 1})
            assert public.headers["cache-control"].startswith("public"), public.headers
            assert public.headers["etag"] != full.headers["etag"]
