"""The fixture chain: a real PostgreSQL → a migrated scratch database → engine → conn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.pg import scratch_database, server_url
from timeline.commands.writer import Writer
from timeline.migrate import migrate
from timeline.store.db import create_engine

settings.register_profile(
    "timeline",
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("timeline")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A migrated scratch database for this test session."""
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=20)
    yield engine
    await engine.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def writer(engine: AsyncEngine) -> Writer:
    return Writer(engine)
