"""The OpenAPI document: served by the app, equal to openapi/openapi.json, and complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Client
from timeline.api.openapi import document, render
from timeline.api.schemas import Kind
from timeline.domain.kinds import KINDS

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
OURS = ("/v1/timelines", "/v1/sources", "/v1/assertions", "/health")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    paths: dict[str, dict[str, Any]] = document()["paths"]
    return [
        (method, path, op)
        for path, item in paths.items()
        if path.startswith(OURS)
        for method, op in item.items()
    ]


def test_the_committed_openapi_file_equals_the_apps_schema() -> None:
    assert COMMITTED.read_text() == render(document()), "run `make openapi` and commit the file"


async def test_the_app_serves_openapi_3_1_and_a_docs_page(client: Client) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    assert served["openapi"].startswith("3.1")
    assert json.loads(render(document())) == json.loads(render(served))
    assert (await client.get("/schema")).status_code == 200


@pytest.mark.parametrize(("method", "path", "op"), _operations())
def test_every_route_has_a_summary_documented_parameters_and_errors(
    method: str, path: str, op: dict[str, Any]
) -> None:
    assert op.get("summary"), (method, path)
    for parameter in op.get("parameters", []):
        assert parameter.get("description"), (method, path, parameter["name"])
    errors = [code for code in op["responses"] if code >= "400"]
    assert errors, (method, path)
    for code in errors:
        assert "application/problem+json" in op["responses"][code]["content"], (path, code)
    if method == "post":
        assert {"401", "403", "422"} <= set(op["responses"]), path
        body = op["requestBody"]["content"]["application/json"]
        assert body.get("examples") or body["schema"].get("examples"), path


def test_the_schema_carries_examples_from_the_seed_article() -> None:
    text = json.dumps(document())
    assert "Holy Savior Cathedral in Shusha" in text
    assert "AlKhaleej Today" in text


def test_the_kinds_the_schema_offers_are_the_domains_taxonomy() -> None:
    assert set(Kind.__args__) == set(KINDS)
