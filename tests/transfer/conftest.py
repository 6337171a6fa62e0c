"""Two fresh stores of their own: a source loaded with the demo, and an empty target."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pg import scratch_database
from timeline.commands.writer import Writer
from timeline.demo import load_demo
from timeline.migrate import migrate
from timeline.store.db import create_engine


@pytest.fixture(scope="module")
def source_url(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def target_url(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
def empty_url(postgres_server: str) -> Iterator[str]:
    """A migrated store of this test's own, holding no event."""
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
async def empty(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def source(source_url: str) -> AsyncIterator[AsyncEngine]:
    """A store holding the demo timeline and nothing else."""
    engine = create_engine(source_url, pool_size=2)
    await load_demo(Writer(engine))
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def target(target_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(target_url, pool_size=2)
    yield engine
    await engine.dispose()
