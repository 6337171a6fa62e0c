"""Schemathesis over the whole schema, with a write key: no 5xx, and answers that conform.

Bounded to a few examples per operation so it stays within a minute. The live
feed stream (`/v1/events/stream`) never ends by design: the conformance run leaves
it out, and the hostile run asks it with HEAD, which runs the route and ends at
its first byte. The paged feed (issue 6's) is held to "no 5xx" only until its 200
is documented as its page shape rather than a string.

The hostile run is the same schema with every string in a query or path
parameter, and every instant in a body, drawn mostly from what has broken
servers before: times whose offset carries them past year 1 or 9999, NUL alone
or inside text, a time from the future. Every route, the feed's included.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from timeline.api.app import create_app
from timeline.api.openapi import document
from timeline.config import Settings

schema = schemathesis.openapi.from_dict(document()).exclude(path="/v1/events/stream")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FEED_CHECKS = [not_a_server_error]

STREAM = "/v1/events/stream"
HOSTILE_TEXT = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31",
    "0001-01-01",
    "0000-01-01",
    "2020-10-10T00:00:00+24:00",
    "\x00",
    "a\x00b",
    "2020-10-10\x00",
    "%00",
    "\ud7ff\ue000",
]
HOSTILE_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+00:01",
]
# Three draws in four are a known-hostile value, the fourth any short text.
schemathesis.openapi.format(
    "timeline-hostile-text",
    st.integers(0, 3).flatmap(
        lambda n: st.text(max_size=20) if n == 0 else st.sampled_from(HOSTILE_TEXT)
    ),
)
schemathesis.openapi.format("timeline-hostile-instant", st.sampled_from(HOSTILE_INSTANTS))


def _hostile(node: Any, text_format: str) -> None:
    """Give every free string under `node` the hostile format (instants the instant one)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and "enum" not in node:
            is_instant = node.get("format") == "date-time"
            node["format"] = "timeline-hostile-instant" if is_instant else text_format
        for value in node.values():
            _hostile(value, text_format)
    elif isinstance(node, list):
        for value in node:
            _hostile(value, text_format)


def hostile_document() -> dict[str, Any]:
    """The API's document with hostile strings in every query and path parameter and
    hostile instants in every body."""
    doc = copy.deepcopy(document())
    for item in doc["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path"):
                    _hostile(parameter["schema"], "timeline-hostile-text")
    for component in doc.get("components", {}).get("schemas", {}).values():
        _hostile(component, "")  # bodies: only instants change; "" keeps other strings
        if component.get("type") == "object":
            # Write bodies refuse unknown fields: without extras, a body gets past
            # decoding to what is checked after it (its instants, the domain's rules).
            component["additionalProperties"] = False
    return doc


def _undo_empty_formats(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "":
            del node["format"]
        for value in node.values():
            _undo_empty_formats(value)
    elif isinstance(node, list):
        for value in node:
            _undo_empty_formats(value)


def _hostile_schema() -> Any:
    doc = hostile_document()
    _undo_empty_formats(doc)
    return schemathesis.openapi.from_dict(doc)


hostile_schema = _hostile_schema()


@pytest.fixture(scope="session")
def fuzzed_client(database_url: str) -> Iterator[TestClient[Litestar]]:
    """Its own app and event loop: schemathesis drives it synchronously."""
    with TestClient(create_app(Settings(), database_url), base_url="http://fuzz.local") as client:
        yield client


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_gives_a_5xx_and_every_answer_conforms(
    case: Any, fuzzed_client: TestClient[Litestar], auth: dict[str, str]
) -> None:
    response = fuzzed_client.request(**case.as_transport_kwargs(headers=auth))
    checks = FEED_CHECKS if case.path.startswith("/v1/events") else CHECKS
    case.validate_response(response, checks=checks)


@hostile_schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_hostile_string_or_instant_gives_a_5xx_on_any_route_the_feed_included(
    case: Any, fuzzed_client: TestClient[Litestar], auth: dict[str, str]
) -> None:
    kwargs = case.as_transport_kwargs(headers=auth)
    if case.path == STREAM:
        kwargs["method"] = "HEAD"  # the route runs; the answer ends at its first byte
    response = fuzzed_client.request(**kwargs)
    assert response.status_code < 500, (kwargs, response.text)
