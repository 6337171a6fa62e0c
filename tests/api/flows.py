"""Small HTTP steps the API tests share: open a timeline, register a source, record."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]

SHUSHA: dict[str, Any] = {
    "occurred": "2020-10-08",
    "kind": "shelling",
    "summary": "Holy Savior Cathedral in Shusha shelled",
    "place": {"name": "Shusha", "lat": 39.7583, "lon": 46.7486, "precision": "town"},
    "actors": ["Azerbaijan"],
    "quantities": [],
    "claimant": "Armenia",
    "reported_at": "2020-10-08T15:00:00Z",
}


def slug() -> str:
    return "t-" + uuid.uuid4().hex[:10]


async def open_timeline(client: Client, auth: dict[str, str]) -> str:
    name = slug()
    body = {"slug": name, "title": "Nagorno-Karabakh", "description": "", "region": "Caucasus"}
    response = await client.post("/v1/timelines", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return name


async def register_source(client: Client, auth: dict[str, str], **extra: Any) -> str:
    body = {
        "publisher": "BBC",
        "title": "Nagorno-Karabakh ceasefire",
        "url": "https://example.org/bbc",
        "published_at": "2020-10-10T12:00:00Z",
        "language": "en",
        **extra,
    }
    response = await client.post("/v1/sources", json=body, headers=auth)
    assert response.status_code == 201, response.text
    source_id: str = response.json()["id"]
    return source_id


async def record(
    client: Client, auth: dict[str, str], timeline: str, source_id: str, **changes: Any
) -> dict[str, Any]:
    body = {
        **SHUSHA,
        "citations": [{"source_id": source_id, "quote": "Pictures showed great damage"}],
        **changes,
    }
    response = await client.post(f"/v1/timelines/{timeline}/assertions", json=body, headers=auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
