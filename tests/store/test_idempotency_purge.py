"""Expired idempotency keys are purged in small batches, each its own transaction.

Each batch commits before the next begins, so a purge never holds the feed's
horizon back: an event committed while the purge is half done is served by the
feed at once, and the purging session holds no transaction id between batches.
"""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import committed_append, fresh_stream, opened
from timeline.api.app import create_app
from timeline.cli import main
from timeline.config import Settings
from timeline.store.db import fetch
from timeline.store.feed import FEED_END
from timeline.store.idempotency import Purger, purge_expired_keys

TTL = 3600


async def _keys(engine: AsyncEngine, prefix: str) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT key FROM idempotency_keys WHERE key LIKE :p"), {"p": prefix + "%"}
        )
        return {r.key for r in rows}


async def _keyed(engine: AsyncEngine, prefix: str, count: int, *, age: int) -> None:
    """`count` keyed writes whose keys were made `age` seconds ago."""
    for i in range(count):
        stream = fresh_stream()
        await committed_append(engine, stream, 0, [opened(stream)], idempotency_key=f"{prefix}{i}")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE idempotency_keys SET created_at = now() - make_interval(secs => :age) "
                "WHERE key LIKE :p"
            ),
            {"age": age, "p": prefix + "%"},
        )


async def test_only_keys_past_their_ttl_go_a_batch_at_a_time(store_engine: AsyncEngine) -> None:
    prefix = f"purge-{uuid.uuid4().hex[:8]}-"
    await _keyed(store_engine, prefix + "old-", 7, age=TTL + 60)
    await _keyed(store_engine, prefix + "live-", 2, age=TTL - 60)
    batches: list[int] = []

    async def seen(deleted: int) -> None:
        batches.append(deleted)

    # Other tests' keys are younger than an hour: only these seven are that old.
    deleted = await purge_expired_keys(store_engine, ttl=TTL, batch=3, after_batch=seen)
    assert deleted == 7
    assert batches == [3, 3, 1]
    assert await _keys(store_engine, prefix) == {f"{prefix}live-0", f"{prefix}live-1"}
    assert await purge_expired_keys(store_engine, ttl=TTL, batch=3) == 0


async def test_a_purge_half_done_holds_neither_a_transaction_nor_the_feed_back(
    store_engine: AsyncEngine,
) -> None:
    prefix = f"purge-{uuid.uuid4().hex[:8]}-"
    await _keyed(store_engine, prefix, 4, age=TTL + 60)
    served: list[bool] = []
    idle: list[bool] = []

    async def meanwhile(deleted: int) -> None:
        if served or not deleted:
            return
        stream = fresh_stream()
        written = await committed_append(store_engine, stream, 0, [opened(stream)])
        async with store_engine.connect() as conn:
            end = await fetch(conn, FEED_END)
            served.append(bool(end) and end[0][1] >= written.positions[0])
            holding = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                )
            )
            idle.append(holding == 0)

    await purge_expired_keys(store_engine, ttl=TTL, batch=2, after_batch=meanwhile)
    assert served == [True]
    assert idle == [True]
    assert await _keys(store_engine, prefix) == set()


async def test_the_server_purges_expired_keys_while_it_runs(store_engine: AsyncEngine) -> None:
    prefix = f"purge-{uuid.uuid4().hex[:8]}-"
    await _keyed(store_engine, prefix, 3, age=TTL + 60)
    purger = Purger(store_engine, ttl=TTL, every=0.05)
    await purger.start()
    try:
        for _ in range(200):
            if not await _keys(store_engine, prefix):
                break
            await asyncio.sleep(0.05)
        assert await _keys(store_engine, prefix) == set()
        # And again on the next round: keys that expire later go too.
        await _keyed(store_engine, prefix, 2, age=TTL + 60)
        for _ in range(200):
            if not await _keys(store_engine, prefix):
                break
            await asyncio.sleep(0.05)
        assert await _keys(store_engine, prefix) == set()
    finally:
        await purger.stop()


async def test_the_api_purges_while_it_runs_and_stops_with_it(
    store_url: str, store_engine: AsyncEngine
) -> None:
    prefix = f"purge-{uuid.uuid4().hex[:8]}-"
    await _keyed(store_engine, prefix, 3, age=TTL + 60)
    settings = Settings(idempotency_ttl_seconds=TTL, idempotency_purge_seconds=1)
    app = create_app(settings, store_url)
    async with AsyncTestClient(app):
        for _ in range(200):
            if not await _keys(store_engine, prefix):
                break
            await asyncio.sleep(0.05)
        assert await _keys(store_engine, prefix) == set()
    await _keyed(store_engine, prefix, 1, age=TTL + 60)
    await asyncio.sleep(1.2)
    assert await _keys(store_engine, prefix) == {f"{prefix}0"}
    assert await purge_expired_keys(store_engine, ttl=TTL) == 1


def test_serve_purges_every_five_minutes_unless_told_otherwise() -> None:
    assert Settings.from_env({}).idempotency_purge_seconds == 300
    assert (
        Settings.from_env({"TIMELINE_IDEMPOTENCY_PURGE_EVERY": "0"}).idempotency_purge_seconds == 0
    )


def test_the_cli_purges_expired_keys_and_prints_how_many(
    store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = f"purge-{uuid.uuid4().hex[:8]}-"
    with psycopg.connect(store_url, autocommit=True) as conn:
        for i, age in enumerate((TTL + 60, TTL + 60, TTL + 60, TTL - 60)):
            conn.execute(
                "INSERT INTO idempotency_keys (owner, key, request_hash, stream_type, stream_id, "
                "created_at) VALUES ('key:x', %s, '\\x00', 'timeline', 't', "
                "now() - make_interval(secs => %s))",
                (f"{prefix}{i}", age),
            )
    monkeypatch.setenv("TIMELINE_DATABASE_URL", store_url)
    monkeypatch.setenv("TIMELINE_IDEMPOTENCY_TTL", str(TTL))
    assert main(["keys", "purge-idempotency", "--batch", "2"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "3"
    with psycopg.connect(store_url) as conn:
        left = conn.execute("SELECT key FROM idempotency_keys WHERE key LIKE %s", (prefix + "%",))
        assert [r[0] for r in left] == [f"{prefix}3"]
    assert main(["keys", "purge-idempotency", "--batch", "0"]) == 2
