"""/v1/log over HTTP: checkpoints, tiles and proofs that verify, and their cache headers."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline
from tests.tlog.conftest import ORIGIN
from timeline.api.app import create_app
from timeline.config import Settings
from timeline.domain import merkle
from timeline.tlog.checkpoint import open_checkpoint
from timeline.tlog.note import Signer
from timeline.tlog.sequencer import integrate

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def client(log_url: str, key_file: Path) -> AsyncIterator[Client]:
    settings = Settings(log_origin=ORIGIN, log_key_file=key_file, pool_size=2)
    async with AsyncTestClient(create_app(settings, log_url)) as client:
        yield client


async def leaves_of(raw: asyncpg.Connection) -> list[bytes]:
    rows = await raw.fetch("SELECT leaf_hash FROM log_leaves ORDER BY leaf_index")
    return [bytes(r["leaf_hash"]) for r in rows]


async def test_the_latest_checkpoint_is_signed_by_the_served_key_and_briefly_cached(
    client: Client, log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    assert (await client.get("/v1/log/checkpoint")).status_code == 404
    await append_timeline(log_engine, "a", count=3)
    await integrate(raw, signer, ORIGIN)
    key = await client.get("/v1/log/key")
    assert key.text.strip() == signer.verifier().text()
    response = await client.get("/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "public, max-age=1"
    checkpoint = open_checkpoint(response.text, signer.verifier(), ORIGIN)
    assert checkpoint.size == 3
    assert checkpoint.root == merkle.root_of(await leaves_of(raw))
    kept = await client.get("/v1/log/checkpoints/3")
    assert kept.text == response.text
    assert kept.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await client.get("/v1/log/checkpoints/2")).status_code == 404


async def test_tiles_hold_the_stored_hashes_full_ones_cached_for_good(
    client: Client, log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    await append_timeline(log_engine, "long", count=300)
    await integrate(raw, signer, ORIGIN)
    leaves = await leaves_of(raw)
    full = await client.get("/v1/log/tile/0/000")
    assert full.content == b"".join(leaves[:256])
    assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
    partial = await client.get("/v1/log/tile/0/001.p/44")
    assert partial.content == b"".join(leaves[256:300])
    assert partial.headers["cache-control"] == "public, max-age=60"
    upper = await client.get("/v1/log/tile/1/000.p/1")
    assert upper.content == merkle.root_of(leaves[:256])
    assert (await client.get("/v1/log/tile/0/001")).status_code == 404  # not full yet
    assert (await client.get("/v1/log/tile/0/001.p/45")).status_code == 404
    for bad in ("0/1", "0/x000/001", "0/000.p/256", "0/000.p/0", "9/000"):
        response = await client.get(f"/v1/log/tile/{bad}")
        assert response.status_code == 400, bad
        assert response.headers["content-type"] == "application/problem+json"


async def test_proofs_verify_against_the_signed_roots(
    client: Client, log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer
) -> None:
    await append_timeline(log_engine, "one", count=5)
    await integrate(raw, signer, ORIGIN)
    await append_timeline(log_engine, "two", count=8)
    await integrate(raw, signer, ORIGIN)
    leaves = await leaves_of(raw)
    old = open_checkpoint((await client.get("/v1/log/checkpoints/5")).text, signer.verifier())
    new = open_checkpoint((await client.get("/v1/log/checkpoint")).text, signer.verifier())
    for index in range(13):
        response = await client.get(f"/v1/log/proof/inclusion?index={index}&size=13")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        proof = [base64.b64decode(h) for h in response.json()["hashes"]]
        assert merkle.verify_inclusion(leaves[index], index, 13, proof, new.root)
    response = await client.get("/v1/log/proof/consistency?from=5&to=13")
    assert response.json()["from"] == 5
    proof = [base64.b64decode(h) for h in response.json()["hashes"]]
    assert merkle.verify_consistency(5, 13, old.root, new.root, proof)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("inclusion?index=3&size=3", 400, "index"),
        ("inclusion?index=0&size=99", 404, "size"),
        ("inclusion?index=-1&size=3", 400, "index"),
        ("inclusion?index=x&size=3", 400, "index"),
        ("inclusion?size=3", 400, "index"),
        ("consistency?from=3&to=2", 400, "from"),
        ("consistency?from=1&to=99", 404, "to"),
        ("consistency?from=0&to=2", 400, "from"),
    ],
)
async def test_a_bad_proof_request_is_a_problem_naming_the_parameter(
    client: Client,
    log_engine: AsyncEngine,
    raw: asyncpg.Connection,
    signer: Signer,
    query: str,
    status: int,
    field: str,
) -> None:
    await append_timeline(log_engine, "few", count=3)
    await integrate(raw, signer, ORIGIN)
    response = await client.get(f"/v1/log/proof/{query}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


async def test_the_sequencer_inside_the_app_signs_what_is_appended(
    log_url: str, key_file: Path, log_engine: AsyncEngine, signer: Signer
) -> None:
    settings = Settings(log_origin=ORIGIN, log_key_file=key_file, log_sequencer=True, pool_size=2)
    async with AsyncTestClient(create_app(settings, log_url)) as client:
        await append_timeline(log_engine, "live", count=4)
        for _ in range(100):
            response = await client.get("/v1/log/checkpoint")
            ok = response.status_code == 200
            if ok and open_checkpoint(response.text, signer.verifier()).size == 4:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the sequencer did not sign the appended events within 5 s")
        feed = (await client.get("/v1/events?limit=10")).json()["events"]
        assert [e["log_index"] for e in feed] == [0, 1, 2, 3]
