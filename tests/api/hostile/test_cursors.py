"""A page cursor belongs to the list that handed it out."""

from __future__ import annotations

from tests.api.conftest import Client, fields_of
from tests.api.flows import open_timeline, record, register_source


async def test_a_page_cursor_from_another_timeline_is_a_400_naming_the_cursor(
    client: Client, auth: dict[str, str]
) -> None:
    source = await register_source(client, auth)
    first, second = await open_timeline(client, auth), await open_timeline(client, auth)
    for day in ("2020-10-01", "2020-10-02"):
        await record(client, auth, first, source, occurred=day)
        await record(client, auth, second, source, occurred=day)
    page = (await client.get(f"/v1/timelines/{first}?limit=1")).json()
    cursor = page["next_cursor"]
    assert cursor is not None
    own = await client.get(f"/v1/timelines/{first}", params={"limit": 1, "cursor": cursor})
    assert own.status_code == 200
    assert own.json()["assertions"][0]["occurred"] == "2020-10-02"
    other = await client.get(f"/v1/timelines/{second}", params={"limit": 1, "cursor": cursor})
    assert other.status_code == 400, other.text
    assert fields_of(other) == ["cursor"]
    for bogus in ("nope", "WyJwMSJd", cursor[:-2]):
        response = await client.get(f"/v1/timelines/{first}", params={"cursor": bogus})
        assert response.status_code == 400, (bogus, response.text)
        assert fields_of(response) == ["cursor"]


async def test_a_bad_feed_cursor_is_named_where_it_was_sent(client: Client) -> None:
    header = await client.get("/v1/events/stream", headers={"Last-Event-ID": "not-a-cursor"})
    assert header.status_code == 400, header.text
    assert fields_of(header) == ["Last-Event-ID"]
    for path in ("/v1/events", "/v1/events/stream"):
        query = await client.get(path, params={"after": "not-a-cursor"})
        assert query.status_code == 400, (path, query.text)
        assert fields_of(query) == ["after"]
