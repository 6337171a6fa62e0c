"""The log's fixtures: a store of its own per test (the log covers the whole feed), a key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pg import scratch_database
from timeline.migrate import migrate
from timeline.store.db import asyncpg_dsn, create_engine
from timeline.tlog.note import Signer

ORIGIN = "timeline.test/log"


@pytest.fixture
def log_url(postgres_server: str) -> Iterator[str]:
    """A freshly migrated database: its tree starts empty, whatever other tests wrote."""
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
async def log_engine(log_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(log_url, pool_size=10)
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
