"""Conditional requests read one way everywhere (api/conditional.py), errors name headers as
sent, and read filters refuse values that cannot match."""

from __future__ import annotations

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client, fields_of
from tests.api.hostile.conftest import event_count


async def test_if_match_compares_strongly_so_a_weak_tag_never_matches(
    client: Client, engine: AsyncEngine, auth: dict[str, str], ids: dict[str, str]
) -> None:
    assertion = f"/v1/assertions/{ids['assertion_id']}"
    current = (await client.get(assertion)).headers["etag"]
    before = await event_count(engine)
    for path, body in (
        ("/revisions", {"changes": {"summary": "s2"}, "reason": "r"}),
        ("/stances", {"party": "A", "stance": "denies"}),
        ("/retraction", {"reason": "wrong"}),
    ):
        response = await client.post(
            assertion + path, json=body, headers={**auth, "If-Match": f"W/{current}"}
        )
        assert response.status_code == 412, (path, response.text)
        assert fields_of(response) == ["If-Match"]
    source = f"/v1/sources/{ids['source_id']}"
    tag = (await client.get(source)).headers["etag"]
    response = await client.post(
        source + "/updates", json={"title": "T2"}, headers={**auth, "If-Match": f"W/{tag}"}
    )
    assert response.status_code == 412, response.text
    assert await event_count(engine) == before


async def test_if_match_must_be_one_quoted_version(
    client: Client, engine: AsyncEngine, auth: dict[str, str], ids: dict[str, str]
) -> None:
    path = f"/v1/assertions/{ids['assertion_id']}/revisions"
    before = await event_count(engine)
    for value in ("1", '"1", "2"', "*", '"one"', '"1'):
        response = await client.post(
            path,
            json={"changes": {"summary": "s2"}, "reason": "r"},
            headers={**auth, "If-Match": value},
        )
        assert response.status_code == 400, (value, response.text)
        assert fields_of(response) == ["If-Match"], value
        if value == "*":  # which RFC 9110 allows, and a write that checked nothing would be
            assert "If-Match: * is not taken" in response.json()["detail"]
    assert await event_count(engine) == before


async def test_if_none_match_compares_weakly_on_the_api_and_the_feed_alike(
    client: Client, ids: dict[str, str]
) -> None:
    page = await client.get("/v1/events?limit=1")  # a full page: it has an ETag
    assert page.status_code == 200
    assert "etag" in page.headers, page.headers
    for url, etag in (
        (f"/v1/assertions/{ids['assertion_id']}", None),
        (f"/v1/timelines/{ids['slug']}", None),
        ("/v1/events?limit=1", page.headers["etag"]),
    ):
        etag = etag or (await client.get(url)).headers["etag"]
        for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            response = await client.get(url, headers={"If-None-Match": held})
            assert response.status_code == 304, (url, held)
            assert response.headers["etag"] == etag
        # Not a list of entity tags, though the tag is inside it: no match, a full answer.
        for held in (f"x{etag}", f'"other" {etag}', etag[:-1]):
            response = await client.get(url, headers={"If-None-Match": held})
            assert response.status_code == 200, (url, held)


async def test_errors_name_a_header_as_the_client_sent_it(
    client: Client, engine: AsyncEngine, auth: dict[str, str], ids: dict[str, str]
) -> None:
    read = await client.get(f"/v1/timelines/{ids['slug']}", headers={"If-None-Match": "x" * 2000})
    assert read.status_code == 400
    assert fields_of(read) == ["If-None-Match"]
    before = await event_count(engine)
    revision = await client.post(
        f"/v1/assertions/{ids['assertion_id']}/revisions",
        json={"changes": {"summary": "s2"}, "reason": "r"},
        headers={**auth, "If-Match": '"' + "1" * 200 + '"'},
    )
    assert revision.status_code == 400
    assert fields_of(revision) == ["If-Match"]
    keyed = await client.post(
        "/v1/timelines",
        json={"slug": "t-long-key", "title": "T"},
        headers={**auth, "Idempotency-Key": "k" * 300},
    )
    assert keyed.status_code == 400
    assert fields_of(keyed) == ["Idempotency-Key"]
    assert await event_count(engine) == before


async def test_an_unknown_kind_is_refused_as_an_unknown_status_is(
    app: Litestar, client: Client, ids: dict[str, str]
) -> None:
    schema = app.openapi_schema.to_schema()
    filtered = [
        path.replace("{slug}", ids["slug"])
        for path, item in schema["paths"].items()
        if any(p["name"] == "kind" for p in item.get("get", {}).get("parameters", []))
    ]
    assert filtered
    for path in filtered:
        for query, field in (("kind=nonsense", "kind"), ("status=bogus", "status")):
            response = await client.get(f"{path}?kind=shelling&{query}")
            assert response.status_code == 400, (path, response.text)
            assert fields_of(response) == [field]
        assert (await client.get(f"{path}?kind=shelling&kind=talks")).status_code == 200
