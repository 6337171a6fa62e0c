"""GET /v1/events: pages, cursors, filters, caching and CloudEvents."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.conftest import end_cursor, read_all, settled
from tests.feed.sse import append_timeline, busy_writer
from timeline.feed.schemas import CloudEventPageSchema, FeedPageSchema
from timeline.store.cursor import encode_cursor


def slug() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_a_page_gives_each_event_in_the_design_shape_with_its_cursor_as_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    name = slug()
    positions = await append_timeline(engine, name, count=2)
    await settled(client, start, positions)
    body = (await client.get("/v1/events", params={"after": start})).json()
    assert [e["position"] for e in body["events"]] == positions
    first = body["events"][0]
    assert first["type"] == "TimelineOpened"
    assert (first["stream_type"], first["stream_id"], first["version"]) == ("timeline", name, 1)
    assert first["data"]["slug"] == name
    assert {"id", "reported_at", "recorded_at"} <= first.keys()
    assert body["next_cursor"] == body["events"][-1]["id"]


async def test_next_cursor_is_the_same_cursor_when_nothing_is_new(
    client: httpx.AsyncClient,
) -> None:
    cursor = await end_cursor(client)
    body = (await client.get("/v1/events", params={"after": cursor})).json()
    assert body == {"events": [], "next_cursor": cursor}


async def test_a_full_page_is_cached_for_good_and_a_partial_page_is_not(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    await settled(client, start, await append_timeline(engine, slug(), count=3))
    full = await client.get("/v1/events", params={"after": start, "limit": 2})
    assert "immutable" in full.headers["cache-control"]
    etag = full.headers["etag"]
    again = await client.get(
        "/v1/events", params={"after": start, "limit": 2}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    partial = await client.get("/v1/events", params={"after": start, "limit": 10})
    assert len(partial.json()["events"]) == 3
    assert "etag" not in partial.headers
    assert partial.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "after",
    ["not-a-cursor", "AAAA", encode_cursor("00000000-0000-0000-0000-000000000000", 5, 5)],
)
async def test_a_malformed_or_foreign_cursor_is_a_problem_naming_after(
    client: httpx.AsyncClient, after: str
) -> None:
    for path, params, headers, field in [
        ("/v1/events", {"after": after}, {}, "after"),
        ("/v1/events/stream", {"after": after}, {}, "after"),
        ("/v1/events/stream", {}, {"Last-Event-ID": after}, "Last-Event-ID"),
    ]:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/invalid-cursor")
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_a_limit_above_the_maximum_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/events", params={"limit": 1001})).status_code == 400


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/stream"])
@pytest.mark.parametrize(
    ("params", "field", "said"),
    [
        (
            [("type", "AssertionRecorded"), ("type", "AssertionRecordid")],
            "type",
            ("'AssertionRecordid'", "AssertionRevised"),
        ),
        ([("stream_type", "assertions")], "stream_type", ("'assertions'", "assertion, source")),
    ],
)
async def test_a_filter_no_event_can_match_is_a_problem_naming_it(
    client: httpx.AsyncClient,
    path: str,
    params: list[tuple[str, str]],
    field: str,
    said: tuple[str, str],
) -> None:
    """A typo in a filter would otherwise be a feed that stays empty forever."""
    response = await client.get(path, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"] == [{"field": field, "message": problem["detail"]}]
    assert all(words in problem["detail"] for words in said)


async def test_filters_select_by_timeline_type_stream_type_and_stream_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    a, b = slug(), slug()
    positions = await append_timeline(engine, a, count=3)
    await settled(client, start, positions + await append_timeline(engine, b, count=1))
    by_timeline = await read_all(client, start, timeline=a)
    assert {e["stream_id"] for e in by_timeline} == {a}
    assert len(by_timeline) == 3
    opened = await read_all(client, start, type="TimelineOpened")
    assert [e["stream_id"] for e in opened] == [a, b]
    both = await read_all(client, start, type=["TimelineOpened", "TimelineRetitled"])
    assert len(both) == 4
    assert await read_all(client, start, stream_type="source") == []
    assert [e["version"] for e in await read_all(client, start, stream_id=b)] == [1]


async def test_cloudevents_envelopes_by_query_or_by_accept_header(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    name = slug()
    await settled(client, start, await append_timeline(engine, name))
    by_query = await client.get("/v1/events", params={"after": start, "format": "cloudevents"})
    by_accept = await client.get(
        "/v1/events",
        params={"after": start},
        headers={"Accept": "application/cloudevents+json"},
    )
    assert by_query.json() == by_accept.json()
    [event] = by_query.json()["events"]
    assert event["specversion"] == "1.0"
    assert event["id"] == by_query.json()["next_cursor"]
    assert event["source"].startswith("urn:timeline:store:")
    assert event["type"] == "timeline.TimelineOpened"
    assert event["subject"] == f"timeline/{name}"
    assert event["time"].endswith("Z") or "+" in event["time"]
    assert event["data"]["slug"] == name


async def test_a_paged_reader_under_busy_writers_sees_every_committed_event_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    writers = asyncio.gather(
        *(busy_writer(engine, f"pw{i}-{slug()}", 20, seed=i) for i in range(8))
    )
    seen: list[dict[str, object]] = []
    cursor = start
    while not writers.done():
        body = (await client.get("/v1/events", params={"after": cursor, "limit": 7})).json()
        seen.extend(body["events"])
        cursor = body["next_cursor"]
        await asyncio.sleep(0)
    committed = [p for positions in await writers for p in positions]
    final = await settled(client, start, committed)
    seen.extend(await read_all(client, cursor))
    assert [e["id"] for e in seen] == [e["id"] for e in final]
    assert sorted(int(e["position"]) for e in final) == sorted(committed)  # type: ignore[call-overload]


async def test_pages_are_exactly_the_shapes_the_openapi_document_describes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    start = await end_cursor(client)
    await settled(client, start, await append_timeline(engine, slug(), count=2))
    for fmt, schema in [("json", FeedPageSchema), ("cloudevents", CloudEventPageSchema)]:
        response = await client.get("/v1/events", params={"after": start, "format": fmt})
        page = msgspec.json.decode(response.content, type=schema)
        assert len(page.events) == 2
        event_schema = type(page.events[0])
        for event in response.json()["events"]:
            assert set(event) == set(event_schema.__struct_fields__)
