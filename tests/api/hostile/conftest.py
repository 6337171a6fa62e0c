"""What the hostile cases share: ids to aim at, and a count that proves nothing was written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client
from tests.api.flows import open_timeline, record, register_source
from timeline.store.tables import events


@pytest.fixture(scope="module")
async def ids(client: Client, auth: dict[str, str]) -> dict[str, str]:
    """A value for every path parameter: a timeline, a source, an assertion, a log tile."""
    slug = await open_timeline(client, auth)
    source_id = await register_source(client, auth)
    assertion = await record(client, auth, slug, source_id)
    ids = {"slug": slug, "source_id": source_id, "assertion_id": assertion["id"]}
    return ids | {"size": "1", "level": "0", "rest": "000"}  # the log's checkpoints and tiles


async def event_count(engine: AsyncEngine) -> int:
    """Events in the log: the same number before and after a refused write."""
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())
