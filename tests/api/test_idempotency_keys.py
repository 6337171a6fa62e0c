"""Idempotency-Keys belong to the API key that sent them (issue 11, item 6).

Two real write keys over HTTP: B sending A's Idempotency-Key with A's body must
not receive A's stored response, and B's other bodies must not turn A's key
into 422s. And ten concurrent first uses of one key with one body, opening a
timeline, all answer the same 201.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client, fields_of, make_key
from tests.api.flows import SHUSHA, open_timeline, register_source, slug
from timeline.api.app import create_app
from timeline.config import Settings
from timeline.store.tables import events


async def _event_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())


async def _bearer(engine: AsyncEngine) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_key(engine, 'write')}"}


async def test_another_api_key_sending_the_same_key_and_body_makes_its_own_write(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await _bearer(engine), await _bearer(engine)
    timeline = await open_timeline(client, a)
    source = await register_source(client, a)
    body: dict[str, Any] = {**SHUSHA, "citations": [{"source_id": source}]}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    url = f"/v1/timelines/{timeline}/assertions"
    first = await client.post(url, json=body, headers={**a, **key})
    assert first.status_code == 201, first.text
    before = await _event_count(engine)
    theirs = await client.post(url, json=body, headers={**b, **key})
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != first.json()["id"]
    assert theirs.headers["location"] != first.headers["location"]
    assert await _event_count(engine) == before + 1
    # Each key replays its own first response, and writes nothing more.
    for auth, answer in ((a, first), (b, theirs)):
        again = await client.post(url, json=body, headers={**auth, **key})
        assert again.status_code == 201
        assert again.json() == answer.json()
    assert await _event_count(engine) == before + 1


async def test_another_api_key_cannot_turn_a_key_into_422s(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await _bearer(engine), await _bearer(engine)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"slug": slug(), "title": "A's", "description": "", "region": "Caucasus"}
    first = await client.post("/v1/timelines", json=body, headers={**a, **key})
    assert first.status_code == 201, first.text
    # B's first use of the same key, with another body: a write of B's own, not a 422.
    other = {**body, "slug": slug(), "title": "B's"}
    theirs = await client.post("/v1/timelines", json=other, headers={**b, **key})
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["title"] == "B's"
    again = await client.post("/v1/timelines", json=body, headers={**a, **key})
    assert again.status_code == 201
    assert again.json() == first.json()
    # A key is still refused for other content, by its own owner.
    reused = await client.post("/v1/timelines", json=other, headers={**a, **key})
    assert reused.status_code == 422
    assert fields_of(reused) == ["Idempotency-Key"]


async def test_ten_concurrent_opens_with_one_key_and_one_body_all_answer_the_same_201(
    database_url: str, engine: AsyncEngine, client: Client
) -> None:
    auth = await _bearer(engine)
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    name = slug()
    body = {"slug": name, "title": "Once", "description": "", "region": "Caucasus"}
    before = await _event_count(engine)
    # An app in this test's own event loop, so the ten requests really overlap.
    app = create_app(Settings(pool_size=12), database_url)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test.local") as racer:
            responses = await asyncio.gather(
                *(racer.post("/v1/timelines", json=body, headers=headers) for _ in range(10))
            )
    finally:
        await app.state["timeline"].engine.dispose()
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert {r.headers["location"] for r in responses} == {f"/v1/timelines/{name}"}
    assert len({r.headers["etag"] for r in responses}) == 1
    assert await _event_count(engine) == before + 1
