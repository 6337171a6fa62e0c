"""A database of its own for the rebuild tests: a rebuild swaps the schema of the whole store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pg import scratch_database
from timeline.commands.writer import Writer
from timeline.migrate import migrate
from timeline.store.db import create_engine


@pytest.fixture(scope="session")
def rebuild_url(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
async def rebuild_engine(rebuild_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(rebuild_url, pool_size=8)
    yield engine
    await engine.dispose()


@pytest.fixture
def rebuild_writer(rebuild_engine: AsyncEngine) -> Writer:
    return Writer(rebuild_engine)
