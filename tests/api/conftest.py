"""The API under test: the app on the session's scratch database, a client, and keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.api.app import create_app
from timeline.commands.keys import create_key
from timeline.config import Settings

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="session")
def app(database_url: str) -> Litestar:
    return create_app(Settings(), database_url)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        yield client


async def make_key(engine: AsyncEngine, *scopes: str) -> str:
    async with engine.begin() as conn:
        _, secret = await create_key(conn, list(scopes), "tests")
    return secret


@pytest.fixture(scope="session")
async def write_key(engine: AsyncEngine) -> str:
    return await make_key(engine, "write")


@pytest.fixture(scope="session")
def auth(write_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {write_key}"}


def problem_of(response: Any) -> dict[str, Any]:
    """The problem+json body of `response`, checked for the RFC 9457 shape we promise."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    for name in ("type", "title", "status", "detail", "errors"):
        assert name in body, body
    assert body["status"] == response.status_code
    return body


def fields_of(response: Any) -> list[str]:
    """The fields a problem names."""
    return [e["field"] for e in problem_of(response)["errors"]]
