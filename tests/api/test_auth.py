"""Writes need a live key with the write scope; keys are made, listed and revoked by the CLI."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client, fields_of, make_key
from tests.api.flows import slug
from timeline.api.app import create_app
from timeline.commands import keys
from timeline.config import Settings
from timeline.store.tables import api_keys


def _timeline() -> dict[str, str]:
    return {"slug": slug(), "title": "T", "description": "", "region": ""}


async def test_a_write_without_a_key_is_a_401_with_a_challenge(client: Client) -> None:
    response = await client.post("/v1/timelines", json=_timeline())
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert fields_of(response) == ["Authorization"]


async def test_an_unknown_key_is_a_401(client: Client) -> None:
    headers = {"Authorization": "Bearer tl_nope_nope"}
    response = await client.post("/v1/timelines", json=_timeline(), headers=headers)
    assert response.status_code == 401


async def test_a_key_without_the_write_scope_is_a_403(client: Client, engine: AsyncEngine) -> None:
    key = await make_key(engine, "read")
    headers = {"Authorization": f"Bearer {key}"}
    response = await client.post("/v1/timelines", json=_timeline(), headers=headers)
    assert response.status_code == 403


async def test_a_revoked_key_is_refused_on_the_very_next_request(
    client: Client, engine: AsyncEngine
) -> None:
    key = await make_key(engine, "write")
    headers = {"Authorization": f"Bearer {key}"}
    assert (
        await client.post("/v1/timelines", json=_timeline(), headers=headers)
    ).status_code == 201
    async with engine.begin() as conn:
        [live] = [k for k in await keys.list_keys(conn) if key.startswith(f"tl_{k.key_id}_")]
        assert await keys.revoke_key(conn, live.key_id)
    assert (
        await client.post("/v1/timelines", json=_timeline(), headers=headers)
    ).status_code == 401


async def test_reads_are_public_unless_configured_otherwise(
    client: Client, database_url: str, engine: AsyncEngine
) -> None:
    assert (await client.get("/v1/timelines")).status_code == 200
    app = create_app(Settings(reads_need_key=True), database_url)
    key = await make_key(engine, "read")
    async with AsyncTestClient(app) as closed:
        assert (await closed.get("/v1/timelines")).status_code == 401
        headers = {"Authorization": f"Bearer {key}"}
        assert (await closed.get("/v1/timelines", headers=headers)).status_code == 200


async def test_keys_create_prints_the_key_last_and_stores_only_its_hash(
    database_url: str, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await keys.cli_create(database_url, ["write"], "newsroom") == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    async with engine.connect() as conn:
        row = (await conn.execute(select(api_keys).where(api_keys.c.key_id == key_id))).one()
    assert row.secret_hash == keys.hash_secret(secret)
    assert secret.encode() not in bytes(row.secret_hash)
    assert row.name == "newsroom"
    assert row.scopes == ["write"]


async def test_keys_list_shows_ids_never_secrets_and_revoke_takes_an_id(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await keys.cli_create(database_url, ["write"], "to-revoke")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    assert await keys.cli_list(database_url) == 0
    listing = capsys.readouterr().out
    assert key_id in listing
    assert secret not in listing
    assert await keys.cli_revoke(database_url, key_id) == 0
    assert await keys.cli_revoke(database_url, key_id) == 1
