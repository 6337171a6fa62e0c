"""The log's fixtures: a store of its own per test (the log covers the whole feed), a key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.bench.serve import free_port
from tests.pg import scratch_database
from timeline.migrate import migrate
from timeline.store.db import asyncpg_dsn, create_engine
from timeline.tlog.note import Signer, write_key_file

ORIGIN = "timeline.test/log"


@pytest.fixture
def log_url(postgres_server: str) -> Iterator[str]:
    """A freshly migrated database: its tree starts empty, whatever other tests wrote."""
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
async def log_engine(log_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(log_url, pool_size=2)  # the server is shared: few connections
    yield engine
    await engine.dispose()


@pytest.fixture
async def raw(log_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(log_url))
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer.generate(ORIGIN)


async def superuser(conn: asyncpg.Connection, table: str, statement: str) -> None:
    """Run `statement` on `table` behind the store's back: as a superuser, its triggers off."""
    async with conn.transaction():
        await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        await conn.execute(statement)
        for trigger in ("no_update_delete", "no_truncate"):
            await conn.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_{trigger}")


@pytest.fixture
def key_file(tmp_path: Path, signer: Signer) -> Path:
    path = tmp_path / "log.key"
    write_key_file(path, signer)
    return path


@pytest.fixture
def server(log_url: str, key_file: Path) -> Iterator[str]:
    """`timeline serve` on the log's database, its sequencer on: the server's base URL."""
    port = free_port()
    env = dict(
        os.environ,
        TIMELINE_DATABASE_URL=log_url,
        TIMELINE_LOG_KEY_FILE=str(key_file),
        TIMELINE_LOG_ORIGIN=ORIGIN,
        TIMELINE_LOG_SEQUENCER="true",
        TIMELINE_LOG_LEVEL="warning",
        TIMELINE_POOL_SIZE="2",
    )
    timeline = Path(sys.executable).with_name("timeline")
    proc = subprocess.Popen([str(timeline), "serve", "--port", str(port)], env=env)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("timeline serve did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def signed_size(url: str) -> int:
    """The tree size of the server's latest checkpoint (0 before the first)."""
    try:
        with urllib.request.urlopen(f"{url}/v1/log/checkpoint", timeout=5) as response:
            return int(response.read().decode().split("\n")[1])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return 0
        raise


async def until_signed(url: str, size: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while signed_size(url) < size:
        if time.monotonic() > deadline:
            raise AssertionError(f"the log did not sign size {size} within {within} s")
        await asyncio.sleep(0.05)
