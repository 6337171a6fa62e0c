"""Hostile write bodies: wrong types, broken JSON, instants past the calendar or from the
future, lists past their caps. Each is a 400 naming its field, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client, fields_of
from tests.api.flows import SHUSHA
from tests.api.hostile.conftest import event_count
from timeline.api.schemas import MAX_ACTORS, MAX_CITATIONS, MAX_CREDITS, MAX_QUANTITIES

# Offsets that carry a valid-looking time past year 1 or 9999 once it is made UTC.
EXTREME_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31T00:00:00Z"]


def instant_writes(ids: dict[str, str]) -> list[tuple[str, dict[str, Any], str]]:
    """(path, a body that would be written, its instant field) for every instant a write takes."""
    source, assertion = ids["source_id"], ids["assertion_id"]
    return [
        ("/v1/sources", {"publisher": "BBC", "title": "T"}, "published_at"),
        (f"/v1/sources/{source}/updates", {"title": "T2"}, "published_at"),
        (f"/v1/sources/{source}/withdrawal", {"reason": "gone"}, "withdrawn_at"),
        (f"/v1/timelines/{ids['slug']}/assertions", dict(SHUSHA), "reported_at"),
        (
            f"/v1/assertions/{assertion}/revisions",
            {"changes": {"summary": "s2"}, "reason": "r"},
            "reported_at",
        ),
        (f"/v1/assertions/{assertion}/stances", {"party": "A", "stance": "denies"}, "reported_at"),
        (f"/v1/assertions/{assertion}/retraction", {"reason": "wrong"}, "reported_at"),
    ]


async def _refused(
    client: Client,
    engine: AsyncEngine,
    auth: dict[str, str],
    path: str,
    field: str,
    **send: Any,
) -> dict[str, Any]:
    """POST, assert a 400 naming `field` with nothing written, and return the problem."""
    before = await event_count(engine)
    headers = {**auth, "If-Match": '"1"', **send.pop("headers", {})}
    response = await client.post(path, headers=headers, **send)
    assert response.status_code == 400, (path, response.text)
    assert fields_of(response) == [field], (path, response.text)
    assert await event_count(engine) == before, path
    problem: dict[str, Any] = response.json()
    return problem


async def test_every_instant_in_a_write_body_past_the_calendar_is_a_400_naming_it(
    client: Client, engine: AsyncEngine, auth: dict[str, str], ids: dict[str, str]
) -> None:
    for path, body, field in instant_writes(ids):
        for value in EXTREME_TIMES:
            problem = await _refused(client, engine, auth, path, field, json={**body, field: value})
            assert "out of range" in problem["errors"][0]["message"]


async def test_a_report_from_the_future_is_refused_naming_its_field(
    client: Client, engine: AsyncEngine, auth: dict[str, str], ids: dict[str, str]
) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for path, body, field in instant_writes(ids):
        problem = await _refused(client, engine, auth, path, field, json={**body, field: later})
        assert "future" in problem["errors"][0]["message"]
    # Within the allowed skew (default 300 s) a clock a little ahead is no fault.
    soon = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    path, body, field = instant_writes(ids)[3]
    response = await client.post(path, json={**body, field: soon}, headers=auth)
    assert response.status_code == 201, response.text


async def test_the_clock_skew_is_a_setting(database_url: str, engine: AsyncEngine) -> None:
    from litestar.testing import AsyncTestClient

    from tests.api.conftest import make_key
    from timeline.api.app import create_app
    from timeline.config import Settings

    assert Settings.from_env({"TIMELINE_MAX_CLOCK_SKEW": "7"}).max_clock_skew_seconds == 7
    assert Settings.from_env({}).max_clock_skew_seconds == 300
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    body = {"publisher": "BBC", "title": "T"}
    in_ten_minutes = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    in_a_day = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    app = create_app(Settings(max_clock_skew_seconds=3600), database_url)
    async with AsyncTestClient(app, base_url="http://testserver.local") as skewed:
        ok = await skewed.post(
            "/v1/sources", json={**body, "published_at": in_ten_minutes}, headers=auth
        )
        assert ok.status_code == 201, ok.text
        await _refused(
            skewed,
            engine,
            auth,
            "/v1/sources",
            "published_at",
            json={**body, "published_at": in_a_day},
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"place": {"name": "Shusha", "lat": "39", "lon": "46"}}, "place.lat"),
        ({"reported_at": 1602169200}, "reported_at"),
        ({"quantities": [{"measure": "killed", "low": "3"}]}, "quantities[0].low"),
        (
            {"quantities": [{"measure": "killed", "approximate": "true"}]},
            "quantities[0].approximate",
        ),
        ({"actors": [1]}, "actors[0]"),
        ({"summary": 5}, "summary"),
        ({"claimant": False}, "claimant"),
    ],
)
async def test_types_are_never_coerced(
    client: Client,
    engine: AsyncEngine,
    auth: dict[str, str],
    ids: dict[str, str],
    changes: dict[str, Any],
    field: str,
) -> None:
    path = f"/v1/timelines/{ids['slug']}/assertions"
    await _refused(client, engine, auth, path, field, json={**SHUSHA, **changes})


@pytest.mark.parametrize(
    "body",
    [
        b'{"occurred": "2020-10-08", "kind": "shel',  # truncated
        b'{"occurred": "2020-10-08", "kind": "shelling", "summary": "\xff\xfe"}',  # not UTF-8
        b'{"occurred": "2020-10-08", "kind": "shelling", "summary": "\\ud800 alone"}',
        b'{"occurred": "2020-10-08", "kind": "shelling", "summary": "\\udc00"}',
        b"",
        b"   ",
        b"null",
    ],
)
async def test_a_body_that_is_not_usable_json_names_the_body(
    client: Client, engine: AsyncEngine, auth: dict[str, str], ids: dict[str, str], body: bytes
) -> None:
    path = f"/v1/timelines/{ids['slug']}/assertions"
    headers = {"Content-Type": "application/json"}
    await _refused(client, engine, auth, path, "body", content=body, headers=headers)


@pytest.mark.parametrize(
    ("field", "cap", "item"),
    [
        ("actors", MAX_ACTORS, "Azerbaijan"),
        ("quantities", MAX_QUANTITIES, {"measure": "killed", "low": 1}),
        ("citations", MAX_CITATIONS, {"source_id": "s", "quote": "q"}),
    ],
)
async def test_a_list_past_its_cap_is_a_400_naming_it(
    client: Client,
    engine: AsyncEngine,
    auth: dict[str, str],
    ids: dict[str, str],
    field: str,
    cap: int,
    item: Any,
) -> None:
    path = f"/v1/timelines/{ids['slug']}/assertions"
    for count in (cap + 1, 10_000):
        problem = await _refused(
            client, engine, auth, path, field, json={**SHUSHA, field: [item] * count}
        )
        assert str(cap) in problem["errors"][0]["message"]
    revision = f"/v1/assertions/{ids['assertion_id']}/revisions"
    if field != "citations":
        body = {"changes": {field: [item] * (cap + 1)}, "reason": "r"}
        await _refused(client, engine, auth, revision, f"changes.{field}", json=body)
    credits = {"publisher": "BBC", "title": "T", "credits": ["Reuters"] * (MAX_CREDITS + 1)}
    await _refused(client, engine, auth, "/v1/sources", "credits", json=credits)
