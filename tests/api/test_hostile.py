"""Hostile input, permanently: each attack gets a clear 4xx naming its field, on every route.

The routes are taken from the app's own OpenAPI document, so a new GET route
is attacked too without anyone adding it here.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from litestar import Litestar

from tests.api.conftest import Client, fields_of
from tests.api.flows import open_timeline, record, register_source

TIME_PARAMETERS = {
    "known_at",
    "recorded_at",
    "as_of",
    "occurred_from",
    "occurred_to",
    "since",
    "until",
}
# Offsets that carry a valid-looking time past year 1 or 9999 once it is made UTC.
EXTREME_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.fixture(scope="module")
async def ids(client: Client, auth: dict[str, str]) -> dict[str, str]:
    """A value for every path parameter: a timeline, a source and an assertion."""
    slug = await open_timeline(client, auth)
    source_id = await register_source(client, auth)
    assertion = await record(client, auth, slug, source_id)
    return {"slug": slug, "source_id": source_id, "assertion_id": assertion["id"]}


def _get_routes(app: Litestar) -> list[tuple[str, list[dict[str, Any]]]]:
    """(path, query parameters) of every GET route in the OpenAPI document."""
    schema = app.openapi_schema.to_schema()
    routes = []
    for path, item in schema["paths"].items():
        if "get" not in item:
            continue
        params = [p for p in item["get"].get("parameters", []) if p["in"] == "query"]
        routes.append((path, params))
    return routes


def _filled(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


def _timed_routes(app: Litestar) -> list[tuple[str, str]]:
    return [
        (path, p["name"])
        for path, params in _get_routes(app)
        for p in params
        if p["name"] in TIME_PARAMETERS
    ]


async def test_every_time_parameter_past_the_calendar_is_a_400_naming_it(
    app: Litestar, client: Client, ids: dict[str, str]
) -> None:
    timed = _timed_routes(app)
    assert {name for _, name in timed} == TIME_PARAMETERS  # every one of them is attacked
    for path, name in timed:
        for value in EXTREME_TIMES:
            params = {name: value}
            if path.endswith("/changes") and name != "since":
                params["since"] = "2020-01-01"
            response = await client.get(_filled(path, ids), params=params)
            assert response.status_code == 400, (path, name, value, response.text)
            assert fields_of(response) == [name], (path, name, response.text)


async def test_nul_in_any_query_parameter_is_a_400_naming_it(
    app: Litestar, client: Client, ids: dict[str, str]
) -> None:
    attacked = 0
    for path, params in _get_routes(app):
        for param in params:
            name = param["name"]
            url = f"{_filled(path, ids)}?{name}=a%00b"
            response = await client.get(url)
            assert response.status_code == 400, (url, response.text)
            assert fields_of(response) == [name], (url, response.text)
            attacked += 1
    assert attacked > 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=%00", "type"),
        ("stream_id=%00", "stream_id"),
        ("after=%E2%28", "after"),
        ("timeline=%zz", "timeline"),
    ],
)
async def test_the_feed_refuses_unusable_strings_before_streaming(
    client: Client, query: str, field: str
) -> None:
    for path in ("/v1/events", "/v1/events/stream"):
        response = await client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.text)
        assert fields_of(response) == [field]


async def test_head_answers_every_get_route_with_its_headers_and_no_body(
    app: Litestar, client: Client, ids: dict[str, str]
) -> None:
    for path, _ in _get_routes(app):
        url = _filled(path, ids)
        if path.endswith("/changes"):
            url += "?since=2020-01-01&until=2021-01-01"
        head = await client.head(url)
        assert head.content == b"", url
        if path.endswith("/stream"):
            assert head.status_code == 200
            assert head.headers["content-type"].startswith("text/event-stream")
            continue
        got = await client.get(url)
        assert head.status_code == got.status_code, (url, head.status_code, got.text)
        assert head.headers.get("etag") == got.headers.get("etag"), url
        assert head.headers["content-type"] == got.headers["content-type"], url


async def test_every_answer_carries_the_security_headers(
    client: Client, ids: dict[str, str]
) -> None:
    for url in ("/health", f"/v1/timelines/{ids['slug']}", "/nope", "/v1/events?type=%00"):
        response = await client.get(url)
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert response.headers["referrer-policy"] == "no-referrer", url


async def test_a_credential_in_the_query_string_never_reaches_the_access_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="timeline.access"):
        await client.get("/v1/timelines?key=s3cret-value&api_key=other-secret&limit=5")
    logged = [r.fields["query"] for r in caplog.records if hasattr(r, "fields")]  # type: ignore[attr-defined]
    assert logged, "the request was not logged"
    assert all("s3cret" not in q and "other-secret" not in q for q in logged), logged
    assert any("limit=5" in q and "key=[redacted]" in q for q in logged), logged


async def test_json_nested_a_thousand_deep_is_a_400_naming_the_body_on_every_write(
    app: Litestar, client: Client, auth: dict[str, str], ids: dict[str, str]
) -> None:
    schema = app.openapi_schema.to_schema()
    writes = [path for path, item in schema["paths"].items() if "post" in item]
    assert len(writes) >= 8
    deep = "[" * 1000 + "]" * 1000
    for path in writes:
        # Nested under a field, the fault is that field's (a string there, or no such field).
        for body, named in ((deep, ["body"]), ('{"summary": ' + deep + "}", ["summary"])):
            response = await client.post(
                _filled(path, ids),
                content=body,
                headers={**auth, "Content-Type": "application/json", "If-Match": '"1"'},
            )
            assert response.status_code == 400, (path, response.text)
            assert fields_of(response) == named, (path, response.text)


async def test_a_misspelt_field_in_a_write_body_is_a_400_naming_it_and_writes_nothing(
    client: Client, auth: dict[str, str], ids: dict[str, str]
) -> None:
    source = await client.get(f"/v1/sources/{ids['source_id']}")
    version = source.headers["etag"]
    cases = [
        ("/v1/timelines", {"slug": "t-misspelt", "title": "T", "titel": "x"}, "titel"),
        (
            f"/v1/sources/{ids['source_id']}/withdrawal",
            {"reason": "retracted by its publisher", "reported_at": "2020-10-10T00:00:00Z"},
            "reported_at",
        ),
        (
            f"/v1/assertions/{ids['assertion_id']}/revisions",
            {"changes": {"sumary": "typo"}, "reason": "r"},
            "changes.sumary",
        ),
        (
            f"/v1/timelines/{ids['slug']}/assertions",
            {
                "occurred": "2020-10-08",
                "kind": "shelling",
                "summary": "s",
                "claimant": "A",
                "place": {"name": "Shusha", "latitude": 39.7},
            },
            "place.latitude",
        ),
    ]
    for path, body, field in cases:
        response = await client.post(path, json=body, headers={**auth, "If-Match": '"1"'})
        assert response.status_code == 400, (path, response.text)
        assert fields_of(response) == [field], (path, response.text)
    assert (await client.get("/v1/timelines/t-misspelt")).status_code == 404
    after = await client.get(f"/v1/sources/{ids['source_id']}")
    assert after.headers["etag"] == version
    assert after.json()["status"] == "active"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
async def test_a_write_body_that_is_not_json_is_a_415_and_writes_nothing(
    client: Client, auth: dict[str, str], content_type: str | None
) -> None:
    body = b'{"slug": "t-not-json", "title": "T"}'
    headers = {**auth, "Content-Type": content_type} if content_type else dict(auth)
    response = await client.post("/v1/timelines", content=body, headers=headers)
    if content_type is None:  # the test client adds none; the server must not guess
        assert "content-type" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 415, response.text
    assert fields_of(response) == ["Content-Type"]
    assert (await client.get("/v1/timelines/t-not-json")).status_code == 404


async def test_json_media_types_are_accepted(client: Client, auth: dict[str, str]) -> None:
    for media in ("application/json; charset=utf-8", "application/merge-patch+json"):
        slug = "t-" + media.split(";")[0].replace("/", "-").replace("+", "-")
        body = f'{{"slug": "{slug}", "title": "T"}}'.encode()
        response = await client.post(
            "/v1/timelines", content=body, headers={**auth, "Content-Type": media}
        )
        assert response.status_code == 201, (media, response.text)


async def test_with_cors_on_every_answer_varies_by_origin(database_url: str) -> None:
    from litestar.testing import AsyncTestClient

    from timeline.api.app import create_app
    from timeline.config import Settings

    app = create_app(Settings(cors_origins=("https://a.example",)), database_url)
    async with AsyncTestClient(app, base_url="http://testserver.local") as cors_client:
        for url, origin in (
            ("/health", None),
            ("/v1/timelines", "https://a.example"),
            ("/v1/events", "https://other.example"),
            ("/nope", None),
        ):
            headers = {"Origin": origin} if origin else {}
            response = await cors_client.get(url, headers=headers)
            vary = [v.strip().lower() for v in response.headers.get("vary", "").split(",")]
            assert "origin" in vary, (url, response.headers)
        feed = await cors_client.get("/v1/events")
        assert {"accept", "origin"} <= {v.strip().lower() for v in feed.headers["vary"].split(",")}


async def test_writes_past_the_keys_rate_limit_are_429_and_other_keys_and_reads_go_on(
    database_url: str, engine: Any
) -> None:
    from litestar.testing import AsyncTestClient

    from tests.api.conftest import make_key
    from timeline.api.app import create_app
    from timeline.config import Settings

    one, other = await make_key(engine, "write"), await make_key(engine, "write")
    tag = uuid.uuid4().hex[:8]
    app = create_app(Settings(write_rate_limit=3), database_url)
    async with AsyncTestClient(app, base_url="http://testserver.local") as limited:
        statuses = []
        for n in range(4):
            body = {"slug": f"t-limited-{n}-{tag}", "title": "T"}
            response = await limited.post(
                "/v1/timelines", json=body, headers={"Authorization": f"Bearer {one}"}
            )
            statuses.append(response.status_code)
        assert statuses == [201, 201, 201, 429], statuses
        assert fields_of(response) == ["Authorization"]
        assert int(response.headers["retry-after"]) >= 1
        assert (await limited.get(f"/v1/timelines/t-limited-3-{tag}")).status_code == 404
        body = {"slug": f"t-limited-other-{tag}", "title": "T"}
        response = await limited.post(
            "/v1/timelines", json=body, headers={"Authorization": f"Bearer {other}"}
        )
        assert response.status_code == 201
        assert (await limited.get("/v1/timelines")).status_code == 200


async def test_oversized_headers_are_a_431_problem(client: Client) -> None:
    response = await client.get("/v1/timelines", headers={"X-Padding": "a" * 20_000})
    assert response.status_code == 431, response.text
    assert fields_of(response) == ["headers"]
    long_query = await client.get("/v1/timelines?q=" + "b" * 20_000)
    assert long_query.status_code == 431
    assert (await client.get("/v1/timelines", headers={"X-Padding": "a" * 1000})).status_code == 200
