"""Reads at any date through HTTP: ETags, 304, caching, and the DESIGN §1 example."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import Client, fields_of
from tests.api.flows import open_timeline, record, register_source


def _killed(assertion: dict[str, Any]) -> int:
    low: int = assertion["quantities"][0]["low"]
    return low


async def _design_example(client: Client, auth: dict[str, str]) -> tuple[str, str]:
    """DESIGN §1: 200 reported 5 Oct, 300 reported 12 Oct, then 250 reported 9 Oct, typed later."""
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)

    def toll(low: int) -> list[dict[str, Any]]:
        return [{"measure": "killed", "low": low, "qualifier": "more than"}]

    created = await record(
        client,
        auth,
        timeline,
        source,
        occurred="2020-09-27/2020-10-10",
        kind="casualties",
        summary="people killed since 27 September",
        quantities=toll(200),
        reported_at="2020-10-05T12:00:00Z",
    )
    url = f"/v1/assertions/{created['id']}/revisions"
    for version, (low, day) in enumerate([(300, "12"), (250, "09")], start=1):
        body = {
            "changes": {"quantities": toll(low)},
            "reason": "new figure",
            "reported_at": f"2020-10-{day}T12:00:00Z",
        }
        response = await client.post(url, json=body, headers={**auth, "If-Match": f'"{version}"'})
        assert response.status_code == 201, response.text
        if low == 300:
            recorded_before_backfill = response.json()["recorded_at"]
    return created["id"], recorded_before_backfill


async def test_the_design_example_reads_the_same_through_http(
    client: Client, auth: dict[str, str]
) -> None:
    assertion_id, before_backfill = await _design_example(client, auth)
    url = f"/v1/assertions/{assertion_id}"
    assert _killed((await client.get(url)).json()) == 300
    assert _killed((await client.get(f"{url}?known_at=2020-10-10")).json()) == 250
    assert _killed((await client.get(f"{url}?known_at=2020-10-06")).json()) == 200
    assert (await client.get(f"{url}?known_at=2020-10-04")).status_code == 404
    pinned = await client.get(
        url, params={"known_at": "2020-10-10", "recorded_at": before_backfill}
    )
    assert _killed(pinned.json()) == 200
    history = (await client.get(f"{url}/history")).json()
    assert [r["version"] for r in history["revisions"]] == [1, 3, 2]
    assert {"field", "from", "to"} <= set(history["revisions"][1]["changes"][0])


async def test_an_etag_answers_if_none_match_with_304_until_it_changes(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    url = f"/v1/assertions/{created['id']}"
    first = await client.get(url)
    assert first.headers["etag"] == '"1"'
    assert first.headers["cache-control"] == "no-cache"
    same = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    assert same.content == b""
    page = await client.get(f"/v1/timelines/{timeline}")
    assert (
        await client.get(
            f"/v1/timelines/{timeline}", headers={"If-None-Match": page.headers["etag"]}
        )
    ).status_code == 304
    stance = {"party": "Azerbaijan", "stance": "denies", "reported_at": "2020-10-09T00:00:00Z"}
    await client.post(f"{url}/stances", json=stance, headers=auth)
    changed = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert changed.headers["etag"] == '"2"'
    assert (
        await client.get(
            f"/v1/timelines/{timeline}", headers={"If-None-Match": page.headers["etag"]}
        )
    ).status_code == 200


async def test_only_an_answer_pinned_to_a_past_recorded_at_is_immutable(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    url = f"/v1/assertions/{created['id']}"
    # Final only once no transaction begun by then can still commit (freshness.FINAL_MARGIN).
    await asyncio.sleep(0.3)
    pinned = await client.get(url, params={"recorded_at": created["recorded_at"]})
    assert "immutable" in pinned.headers["cache-control"]
    known = await client.get(url, params={"known_at": "2020-10-09"})
    assert known.headers["cache-control"] == "no-cache"
    assert "etag" in known.headers


async def test_a_timeline_reads_as_of_a_date_with_filters_and_pages(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    early = await record(client, auth, timeline, source)
    late = await record(
        client,
        auth,
        timeline,
        source,
        occurred="2020-10-11",
        kind="ceasefire",
        summary="Ceasefire agreed in Moscow",
        reported_at="2020-10-10T08:00:00Z",
    )

    def ids(response: Any) -> list[str]:
        return [a["id"] for a in response.json()["assertions"]]

    url = f"/v1/timelines/{timeline}"
    assert ids(await client.get(url)) == [early["id"], late["id"]]
    assert ids(await client.get(url, params={"as_of": "2020-10-09"})) == [early["id"]]
    assert ids(await client.get(url, params={"kind": "ceasefire"})) == [late["id"]]
    first = await client.get(url, params={"limit": 1})
    assert ids(first) == [early["id"]]
    rest = await client.get(url, params={"limit": 1, "cursor": first.json()["next_cursor"]})
    assert ids(rest) == [late["id"]]
    bad = await client.get(url, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert fields_of(bad) == ["cursor"]


async def test_changes_lists_what_became_known_inside_the_window(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    before = await record(client, auth, timeline, source, reported_at="2020-10-01T00:00:00Z")
    inside = await record(client, auth, timeline, source, reported_at="2020-10-11T00:00:00Z")
    url = f"/v1/timelines/{timeline}/changes"
    response = await client.get(url, params={"since": "2020-10-10", "until": "2020-10-12"})
    assert response.status_code == 200
    added = [c["assertion_id"] for c in response.json()["added"]]
    assert added == [inside["id"]]
    assert before["id"] not in added
    backwards = await client.get(url, params={"since": "2020-10-12", "until": "2020-10-10"})
    assert backwards.status_code == 400


async def test_missing_things_are_404_problems_naming_what_was_asked(client: Client) -> None:
    for path, field in [
        ("/v1/timelines/no-such", "slug"),
        ("/v1/timelines/no-such/changes?since=2020-01-01", "slug"),
        ("/v1/sources/no-such", "source_id"),
        ("/v1/assertions/no-such", "assertion_id"),
        ("/v1/assertions/no-such/history", "assertion_id"),
    ]:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert fields_of(response) == [field]


async def test_timelines_and_sources_read_back(client: Client, auth: dict[str, str]) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    listed = await client.get("/v1/timelines", params={"limit": 500})
    assert timeline in [t["slug"] for t in listed.json()["timelines"]]
    read = await client.get(f"/v1/sources/{source}")
    assert read.json()["publisher"] == "BBC"
    assert read.headers["etag"] == '"1"'


async def test_health_answers_while_the_database_does(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
