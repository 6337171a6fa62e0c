"""Every error is problem+json naming the field at fault; no input gives a 5xx."""

from __future__ import annotations

import logging

import httpx
import pytest
from litestar import get
from litestar.testing import AsyncTestClient

from tests.api.conftest import Client, fields_of, problem_of
from tests.api.flows import SHUSHA, open_timeline
from timeline.api.app import create_app
from timeline.config import Settings


async def test_an_unknown_path_is_a_404_problem(client: Client) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    problem_of(response)


async def test_an_unknown_method_is_a_405_problem(client: Client) -> None:
    response = await client.delete("/v1/timelines")
    assert response.status_code == 405
    problem_of(response)


async def test_malformed_json_is_a_400_naming_the_body(
    client: Client, auth: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/timelines", content=b"{not json", headers={**auth, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert fields_of(response) == ["body"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "a", "title": 5}, "title"),
        ({"slug": "a"}, "title"),
        ({"slug": "a\u0000b", "title": "t"}, "slug"),
    ],
)
async def test_a_body_of_the_wrong_shape_is_a_400_naming_the_field(
    client: Client, auth: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/timelines", json=body, headers=auth)
    assert response.status_code == 400
    assert field in fields_of(response)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"kind": "picnic"}, 400, "kind"),
        ({"occurred": "20x20"}, 422, "occurred"),
        ({"reported_at": "2020-10-08T15:00:00"}, 400, "reported_at"),
        ({"place": {"name": "Shusha", "lat": 100, "lon": 1}}, 400, "place.lat"),
        ({"quantities": [{"measure": "killed", "low": 5, "high": 2}]}, 422, "quantities[0].low"),
        ({"citations": [{"source_id": "no-such-source"}]}, 404, "citations[0].source_id"),
    ],
)
async def test_an_assertion_the_rules_refuse_names_its_field(
    client: Client, auth: dict[str, str], change: dict[str, object], status: int, field: str
) -> None:
    timeline = await open_timeline(client, auth)
    body = {**SHUSHA, **change}
    response = await client.post(f"/v1/timelines/{timeline}/assertions", json=body, headers=auth)
    assert response.status_code == status, response.text
    assert field in fields_of(response)


async def test_an_assertion_on_an_unknown_timeline_is_a_404_naming_it(
    client: Client, auth: dict[str, str]
) -> None:
    response = await client.post("/v1/timelines/no-such/assertions", json=SHUSHA, headers=auth)
    assert response.status_code == 404
    assert fields_of(response) == ["timeline"]


async def test_a_body_over_the_limit_is_a_413(client: Client, auth: dict[str, str]) -> None:
    body = {**SHUSHA, "summary": "x" * (1024 * 1024 + 10)}
    response = await client.post("/v1/timelines/any/assertions", json=body, headers=auth)
    assert response.status_code == 413
    assert fields_of(response) == ["body"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("known_at=yesterday", "known_at"),
        ("recorded_at=2020-10-10T10:00:00", "recorded_at"),
        ("as_of=2020-13-01", "as_of"),
        ("occurred_from=x", "occurred_from"),
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("status=sleeping", "status"),
    ],
)
async def test_a_bad_query_parameter_is_a_400_naming_it(
    client: Client, query: str, field: str
) -> None:
    response = await client.get(f"/v1/timelines/any?{query}")
    assert response.status_code == 400
    assert field in fields_of(response)


async def test_every_response_carries_a_request_id_and_echoes_the_clients(client: Client) -> None:
    mine = await client.get("/health", headers={"X-Request-ID": "trace-42"})
    theirs = await client.get("/v1/nothing")
    assert mine.headers["x-request-id"] == "trace-42"
    assert len(theirs.headers["x-request-id"]) == 32


async def test_a_bug_is_a_500_problem_logged_with_the_request_id_it_returns(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals")

    app = create_app(Settings(), database_url, extra_route_handlers=[boom])
    with caplog.at_level(logging.ERROR, logger="timeline.api"):
        async with AsyncTestClient(app) as client:
            response = await client.get("/boom")
    problem = problem_of(response)
    assert response.status_code == 500
    assert problem["request_id"] == response.headers["x-request-id"]
    assert "secret internals" not in response.text
    assert any(problem["request_id"] in r.getMessage() for r in caplog.records)


async def test_without_a_database_health_and_reads_are_503_problems() -> None:
    app = create_app(Settings(), "postgresql://postgres@127.0.0.1:1/nowhere")
    # No lifespan: the feed's startup needs the database; this is a database lost later.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test.local") as client:
        health = await client.get("/health")
        read = await client.get("/v1/timelines")
    assert health.status_code == 503
    problem_of(health)
    assert read.status_code == 503
    problem_of(read)
