"""The feed inside the API: one pool per process."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from tests.pg import scratch_database
from timeline.api.app import create_app
from timeline.api.state import AppState
from timeline.config import Settings
from timeline.feed.hub import APPLICATION
from timeline.feed.plugin import FeedPlugin
from timeline.migrate import migrate


@pytest.fixture(scope="module")
def own_database(postgres_server: str) -> Iterator[str]:
    """A database of this module's own: no other test's connections in pg_stat_activity."""
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


async def test_the_feed_reads_through_the_apis_pool_and_holds_only_its_listen_connection(
    own_database: str,
) -> None:
    app = create_app(Settings(), own_database)
    async with AsyncTestClient(app) as client:
        feed = app.plugins.get(FeedPlugin)
        state: AppState = app.state["timeline"]
        assert feed.engine is not None
        assert feed.engine.sync_engine.pool is state.engine.sync_engine.pool
        for _ in range(3):
            assert (await client.get("/v1/events")).status_code == 200
        # From outside: the app runs on the test client's own event loop.
        with psycopg.connect(own_database) as conn:
            names = conn.execute(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        feed_connections = [n for (n,) in names if n.startswith(APPLICATION)]
        assert feed_connections == [APPLICATION]  # the LISTEN connection, nothing pooled
