"""The store's own scratch database, so its feed holds only what these tests write.

Concurrency tests commit; a database of their own keeps those events out of
other tests' projections and rebuilds, and keeps other tests' events out of
the feed sequences compared here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pg import scratch_database
from timeline.migrate import migrate
from timeline.store.db import create_engine


@pytest.fixture(scope="session")
def store_url(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
async def store_engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(store_url, pool_size=12)
    yield engine
    await engine.dispose()
