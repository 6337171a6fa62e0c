"""Writes: 201 with the resource and a Location; If-Match; idempotency; races."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client, fields_of, problem_of
from tests.api.flows import SHUSHA, open_timeline, record, register_source, slug
from timeline.api.app import create_app
from timeline.config import Settings
from timeline.domain.events import AssertionRevised
from timeline.store.append import StreamRef, append_to_stream
from timeline.store.db import driver_of
from timeline.store.tables import events


async def _event_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())


async def test_opening_a_timeline_answers_201_with_it_and_its_location(
    client: Client, auth: dict[str, str]
) -> None:
    name = slug()
    body = {"slug": name, "title": "Nagorno-Karabakh", "description": "d", "region": "Caucasus"}
    response = await client.post("/v1/timelines", json=body, headers=auth)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v1/timelines/{name}"
    assert response.headers["etag"] == '"1"'
    assert {k: response.json()[k] for k in body} == body
    again = await client.post("/v1/timelines", json=body, headers=auth)
    assert again.status_code == 409
    assert fields_of(again) == ["slug"]


async def test_a_source_republishing_another_is_registered_and_updated(
    client: Client, auth: dict[str, str]
) -> None:
    bbc = await register_source(client, auth)
    response = await client.post(
        "/v1/sources",
        json={"publisher": "AlKhaleej Today", "title": "Nagorno Karabakh", "via": bbc},
        headers=auth,
    )
    assert response.status_code == 201
    source = response.json()
    assert source["via"] == bbc
    assert response.headers["location"] == f"/v1/sources/{source['id']}"
    update = await client.post(
        f"/v1/sources/{source['id']}/updates", json={"language": "ar"}, headers=auth
    )
    assert update.status_code == 201
    assert update.json()["language"] == "ar"
    assert update.json()["version"] == 2
    unknown = await client.post(
        "/v1/sources", json={"publisher": "p", "title": "t", "via": "x"}, headers=auth
    )
    assert unknown.status_code == 404
    assert fields_of(unknown) == ["via"]
    moved = await client.post(
        f"/v1/sources/{source['id']}/updates", json={"via": "x"}, headers=auth
    )
    assert moved.status_code == 404
    assert fields_of(moved) == ["via"]


async def test_recording_an_assertion_returns_it_with_every_contract_field(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    for name in (
        "id",
        "timeline",
        "version",
        "status",
        "stances",
        "occurred_start",
        "occurred_end",
        "first_reported_at",
        "last_reported_at",
        "recorded_at",
    ):
        assert name in created
    assert created["timeline"] == timeline
    assert created["status"] == "active"
    assert created["occurred_start"] == created["occurred_end"] == "2020-10-08"


async def test_a_revision_needs_if_match_and_refuses_a_stale_one(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    url = f"/v1/assertions/{created['id']}/revisions"
    body = {
        "changes": {"summary": "Cathedral shelled twice"},
        "reason": "a second strike",
        "reported_at": "2020-10-09T10:00:00Z",
    }
    missing = await client.post(url, json=body, headers=auth)
    assert missing.status_code == 428
    assert fields_of(missing) == ["If-Match"]
    revised = await client.post(url, json=body, headers={**auth, "If-Match": '"1"'})
    assert revised.status_code == 201, revised.text
    assert revised.json()["summary"] == "Cathedral shelled twice"
    assert revised.headers["etag"] == '"2"'
    stale = await client.post(url, json=body, headers={**auth, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'


async def test_a_denial_contests_and_a_retraction_ends_revisions(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    base = f"/v1/assertions/{created['id']}"
    stance = {
        "party": "Azerbaijan",
        "stance": "denies",
        "statement": "denied",
        "reported_at": "2020-10-09T00:00:00Z",
    }
    denied = await client.post(f"{base}/stances", json=stance, headers=auth)
    assert denied.status_code == 201
    assert denied.json()["status"] == "contested"
    retraction = {"reason": "misattributed", "reported_at": "2020-10-10T00:00:00Z"}
    retracted = await client.post(f"{base}/retraction", json=retraction, headers=auth)
    assert retracted.status_code == 201
    assert retracted.json()["status"] == "retracted"
    revision = {"changes": {"summary": "s"}, "reported_at": "2020-10-11T00:00:00Z"}
    refused = await client.post(
        f"{base}/revisions", json=revision, headers={**auth, "If-Match": '"3"'}
    )
    assert refused.status_code == 422
    assert fields_of(refused) == ["assertion_id"]
    early = {**stance, "reported_at": "2020-10-01T00:00:00Z"}
    before_first = await client.post(f"{base}/stances", json=early, headers=auth)
    assert before_first.status_code == 422
    assert fields_of(before_first) == ["reported_at"]


async def test_withdrawing_the_only_source_leaves_an_assertion_unsupported(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    withdrawn = await client.post(
        f"/v1/sources/{source}/withdrawal", json={"reason": "taken down"}, headers=auth
    )
    assert withdrawn.status_code == 201
    assert withdrawn.json()["status"] == "withdrawn"
    after = await client.get(f"/v1/assertions/{created['id']}")
    assert after.json()["status"] == "unsupported"


async def test_an_idempotent_replay_answers_the_first_response_and_writes_nothing(
    client: Client, auth: dict[str, str], engine: AsyncEngine
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    key = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    body: dict[str, Any] = {
        "occurred": "2020-10",
        "kind": "casualties",
        "summary": "more than 300 killed",
        "citations": [{"source_id": source}],
        "reported_at": "2020-10-11T09:00:00Z",
    }
    url = f"/v1/timelines/{timeline}/assertions"
    first = await client.post(url, json=body, headers=key)
    count = await _event_count(engine)
    replay = await client.post(url, json=body, headers=key)
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert await _event_count(engine) == count
    other = await client.post(url, json={**body, "summary": "other"}, headers=key)
    assert other.status_code == 422
    assert fields_of(other) == ["Idempotency-Key"]


async def _until_waiting_on_a_lock(engine: AsyncEngine) -> None:
    """Return once some session waits on a lock (the racing append), polling the server."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()"
    )
    for _ in range(2000):
        async with engine.connect() as conn:
            if (await conn.execute(query)).scalar_one():
                return
        await asyncio.sleep(0.005)
    raise AssertionError("the racing request never waited on the rival's lock")


async def test_a_revision_that_loses_the_race_at_the_append_is_a_409(
    database_url: str, engine: AsyncEngine, client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    # An app in this test's own event loop, so a request can wait on a lock while we act.
    app = create_app(Settings(), database_url)
    rival_event = AssertionRevised(
        assertion_id=created["id"],
        summary="rival",
        reason="",
        reported_at=datetime(2020, 10, 9, tzinfo=UTC),
    )
    body = {"changes": {"summary": "mine"}, "reported_at": "2020-10-09T00:00:00Z"}
    headers = {**auth, "If-Match": '"1"'}
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test.local") as racer,
            engine.connect() as rival,
        ):
            await rival.begin()
            # The rival appends version 2 and holds its transaction open: the request
            # reads version 1, and its append waits on the rival's row.
            await append_to_stream(rival, StreamRef("assertion", created["id"]), 1, [rival_event])
            url = f"/v1/assertions/{created['id']}/revisions"
            request = asyncio.create_task(racer.post(url, json=body, headers=headers))
            await _until_waiting_on_a_lock(engine)
            await rival.commit()
            response = await request
    finally:
        await app.state["timeline"].engine.dispose()
    assert response.status_code == 409
    problem_of(response)


async def _held_at(client: Client, url: str, recorded_at: str) -> Any:
    response = await client.get(url, params={"recorded_at": recorded_at})
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_201_body_is_what_a_read_at_its_recorded_at_answers(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    url = f"/v1/assertions/{created['id']}"
    revised = await client.post(
        f"{url}/revisions",
        json={"changes": {"summary": "twice"}, "reported_at": "2020-10-09T00:00:00Z"},
        headers={**auth, "If-Match": '"1"'},
    )
    stance = await client.post(
        f"{url}/stances",
        json={"party": "Azerbaijan", "stance": "denies", "reported_at": "2020-10-09T01:00:00Z"},
        headers=auth,
    )
    updated = await client.post(
        f"/v1/sources/{source}/updates", json={"title": "Renamed"}, headers=auth
    )
    withdrawn = await client.post(
        f"/v1/sources/{source}/withdrawal", json={"reason": "gone"}, headers=auth
    )
    answers = [
        (url, created),
        *[(url, r.json()) for r in (revised, stance)],
        *[(f"/v1/sources/{source}", r.json()) for r in (updated, withdrawn)],
    ]
    for response in (revised, stance, updated, withdrawn):
        assert response.status_code == 201, response.text
    # Read after all of them were written: each answer is the resource as held at its time.
    for resource, body in answers:
        assert await _held_at(client, resource, body["recorded_at"]) == body
    assert created["last_position"] < answers[1][1]["last_position"]
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await client.get(url)).json()["status"] == "unsupported"


async def test_the_201_of_a_new_timeline_is_its_page(client: Client, auth: dict[str, str]) -> None:
    name = slug()
    body = {"slug": name, "title": "Karabakh", "description": "d", "region": "Caucasus"}
    opened = await client.post("/v1/timelines", json=body, headers=auth)
    assert opened.status_code == 201
    page = await client.get(f"/v1/timelines/{name}")
    assert opened.json() == page.json()
    assert opened.json()["assertions"] == []
    assert opened.json()["last_position"] > 0


async def test_ten_concurrent_first_uses_of_a_key_all_answer_the_same_201(
    database_url: str, engine: AsyncEngine, client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    body: dict[str, Any] = {
        "occurred": "2020-10-08",
        "kind": "shelling",
        "summary": "Shusha shelled, once",
        "citations": [{"source_id": source}],
        "reported_at": "2020-10-08T15:00:00Z",
    }
    # An app in this test's own event loop, so the ten requests really overlap.
    app = create_app(Settings(pool_size=12), database_url)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test.local") as racer:
            url = f"/v1/timelines/{timeline}/assertions"
            responses = await asyncio.gather(
                *(racer.post(url, json=body, headers=headers) for _ in range(10))
            )
    finally:
        await app.state["timeline"].engine.dispose()
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert len({r.headers["location"] for r in responses}) == 1
    assert len({r.headers["etag"] for r in responses}) == 1
    page = (await client.get(f"/v1/timelines/{timeline}")).json()
    assert [a["id"] for a in page["assertions"]] == [responses[0].json()["id"]]


async def test_a_post_sends_three_statements_and_reads_nothing_back(
    database_url: str, client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    app = create_app(Settings(pool_size=1), database_url)
    engine = app.state["timeline"].engine
    sent: list[str] = []
    async with engine.connect() as conn:
        # One pooled connection, so every statement of every request goes through this one.
        (await driver_of(conn)).add_query_logger(lambda record: sent.append(record.query))
        await conn.rollback()
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test.local") as own:
            url = f"/v1/timelines/{timeline}/assertions"
            body = {**SHUSHA, "citations": [{"source_id": source}]}
            await own.post(url, json=body, headers=auth)  # prepares the statements
            await asyncio.sleep(0.05)
            sent.clear()
            response = await own.post(url, json=body, headers=auth)
            await asyncio.sleep(0.05)  # the query logger reports from the event loop
    finally:
        await engine.dispose()
    assert response.status_code == 201
    # The key's lookup (auth), the command's load, its write: nothing else, no BEGIN/COMMIT.
    assert len(sent) == 3, sent
    assert "api_keys" in sent[0]
    assert "clock_timestamp()" in sent[1]
    assert "timeline_write" in sent[2]
