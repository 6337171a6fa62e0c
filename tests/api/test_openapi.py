"""The OpenAPI document: what the app serves is openapi/openapi.json, valid OpenAPI 3.1,
honest about errors and the live feed, and good enough for a real client generator."""

from __future__ import annotations

import copy
import importlib
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tests.api.conftest import Client
from tests.served import Served, fresh_server
from timeline.api.openapi import render
from timeline.domain.kinds import KINDS

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PROBLEM = {"$ref": "#/components/schemas/Problem"}
SLUG = "nagorno-karabakh-2020"


@pytest.fixture(scope="module")
async def served(client: Client) -> dict[str, Any]:
    """The document as the app serves it (an app started as `timeline serve` starts it)."""
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if not path.startswith("/schema")
    ]


COMMITTED_OPERATIONS = _operations(json.loads(COMMITTED.read_text()))


def test_the_served_document_is_the_committed_file(served: dict[str, Any]) -> None:
    assert render(served) == COMMITTED.read_text(), "run `make openapi` and commit the file"


def test_the_served_document_is_valid_openapi_3_1(served: dict[str, Any]) -> None:
    assert served["openapi"].startswith("3.1")
    validate(served)
    # The validator does refuse a broken document (a response with no description).
    broken = copy.deepcopy(served)
    del broken["paths"]["/health"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


async def test_the_app_serves_a_docs_page(client: Client) -> None:
    assert (await client.get("/schema")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "op"),
    COMMITTED_OPERATIONS,
    ids=[f"{m} {p}" for m, p, _ in COMMITTED_OPERATIONS],
)
def test_every_route_has_a_summary_documented_parameters_and_problem_errors(
    method: str, path: str, op: dict[str, Any]
) -> None:
    assert op.get("summary"), (method, path)
    for parameter in op.get("parameters", []):
        assert parameter.get("description"), (method, path, parameter["name"])
    errors = {code: r for code, r in op["responses"].items() if int(code) >= 400}
    if path != "/metrics":  # which answers while the database is away (without the feed's lag)
        assert "503" in errors, (method, path)
    for code, response in errors.items():
        assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, code
    if method == "post":
        assert {"401", "403", "422"} <= set(op["responses"]), path
        body = op["requestBody"]["content"]["application/json"]
        assert body.get("examples") or body["schema"].get("examples"), path


def test_read_your_writes_is_documented_where_the_hook_answers_it(
    served: dict[str, Any],
) -> None:
    """The hook is app-wide, so the document says it for each route, or no client learns it."""
    writes = [(m, p, op) for m, p, op in _operations(served) if m in ("post", "put", "delete")]
    reads = [(m, p, op) for m, p, op in _operations(served) if m == "get" and p.startswith("/v1/")]
    assert writes
    assert reads
    for method, path, op in writes:
        for code, response in op["responses"].items():
            if code.startswith("2"):
                assert "Timeline-Position" in response["headers"], (method, path, code)
    for _, path, op in reads:
        named = {(p["name"], p["in"]) for p in op.get("parameters", [])}
        assert {("min_position", "query"), ("Timeline-Min-Position", "header")} <= named, path


async def test_read_your_writes_answers_as_documented(client: Client, write_key: str) -> None:
    slug = f"ryw-{uuid.uuid4().hex[:8]}"
    created = await client.post(
        "/v1/timelines",
        json={"slug": slug, "title": "Read your writes"},
        headers={"Authorization": f"Bearer {write_key}"},
    )
    assert created.status_code == 201
    position = created.headers["Timeline-Position"]
    assert position.isdigit()
    assert int(position) >= 1
    seen = await client.get(f"/v1/timelines/{slug}", params={"min_position": position})
    assert seen.status_code == 200
    bad = await client.get(f"/v1/timelines/{slug}", headers={"Timeline-Min-Position": "-3"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "min_position"


def test_the_feed_documents_its_bad_cursor_as_a_problem(served: dict[str, Any]) -> None:
    for path in ("/v1/events", "/v1/events/stream"):
        bad = served["paths"][path]["get"]["responses"]["400"]
        assert bad["content"] == {"application/problem+json": {"schema": PROBLEM}}, path


async def test_a_bad_cursor_is_answered_as_documented(client: Client) -> None:
    response = await client.get("/v1/events", params={"after": "not-a-cursor"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert set(response.json()) >= {"type", "title", "status", "detail"}


def test_the_live_feed_is_documented_as_server_sent_events(served: dict[str, Any]) -> None:
    ok = served["paths"]["/v1/events/stream"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]
    for field in ("`id:`", "`event:`", "`data:`", "Last-Event-ID", "FeedEventSchema"):
        assert field in ok["description"], field


def test_the_schema_carries_examples_from_the_seed_article(served: dict[str, Any]) -> None:
    text = json.dumps(served)
    assert "Holy Savior Cathedral in Shusha" in text
    assert "AlKhaleej Today" in text


def test_the_kinds_the_document_offers_are_the_domains_taxonomy() -> None:
    schemas = json.loads(COMMITTED.read_text())["components"]["schemas"]
    offered = [
        prop["enum"]
        for schema in schemas.values()
        for name, prop in schema.get("properties", {}).items()
        if name == "kind" and "enum" in prop
    ]
    assert offered
    assert all(kinds == list(KINDS) for kinds in offered)


@pytest.fixture(scope="module")
def server(postgres_server: str) -> Iterator[Served]:
    with fresh_server(postgres_server) as served:
        yield served


@pytest.mark.slow
def test_a_generated_client_builds_without_warnings_and_reads_the_demo_timeline(
    server: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "openapi.json"
    with urllib.request.urlopen(f"{server.base_url}/schema/openapi.json") as response:
        spec.write_bytes(response.read())
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: the client is only imported
    generate = ("generate", "--path", str(spec), "--meta", "none", "--config", str(config))
    out = subprocess.run(
        [GENERATOR, *generate, "--output-path", str(tmp_path / "timeline_client")],
        capture_output=True,
        text=True,
        check=False,
    )
    said = out.stdout + out.stderr
    assert out.returncode == 0, said
    assert "warning" not in said.lower(), said
    monkeypatch.syspath_prepend(str(tmp_path))
    client_module = importlib.import_module("timeline_client")
    get_timeline = importlib.import_module("timeline_client.api.timelines.get_timeline")
    models = importlib.import_module("timeline_client.models")
    with client_module.Client(base_url=server.base_url) as api:
        page = get_timeline.sync(SLUG, client=api, as_of="2020-10-11")
        missing = get_timeline.sync("no-such-timeline", client=api)
    assert isinstance(page, models.TimelinePage), page
    assert page.slug == SLUG
    assert any("Shusha" in a.summary for a in page.assertions)
    assert isinstance(missing, models.Problem)
    assert missing.status == 404
