"""Guarantee 1: the database itself refuses UPDATE, DELETE and TRUNCATE of events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.store.streams import committed_append, fresh_stream, opened
from timeline.store.db import asyncpg_dsn

REFUSED = [
    "UPDATE events SET data = '{}'::jsonb WHERE position = $1",
    "UPDATE events SET version = version + 100 WHERE position = $1",
    "DELETE FROM events WHERE position = $1",
    "TRUNCATE events",
    "TRUNCATE events CASCADE",
]


async def in_transaction(
    connection: asyncpg.Connection, statement: str, *args: object, setup: str = "SELECT 1"
) -> None:
    """Run `setup`, then `statement`, in one transaction rolled back on error."""
    async with connection.transaction():
        await connection.execute(setup)
        await connection.execute(statement, *args)


@pytest.fixture
async def superuser(store_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A raw asyncpg connection, no SQLAlchemy and no store code in between."""
    connection = await asyncpg.connect(asyncpg_dsn(store_url))
    assert await connection.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    yield connection
    await connection.close()


@pytest.mark.parametrize("statement", REFUSED)
async def test_the_database_refuses_to_change_an_event(
    store_engine: AsyncEngine, superuser: asyncpg.Connection, statement: str
) -> None:
    stream = fresh_stream()
    result = await committed_append(store_engine, stream, 0, [opened(stream)])
    [position] = result.positions
    before = await superuser.fetchrow("SELECT * FROM events WHERE position = $1", position)
    # In a transaction rolled back on error, so that a broken trigger loses nothing here.
    args = (position,) if "$1" in statement else ()
    with pytest.raises(asyncpg.PostgresError) as error:
        await in_transaction(superuser, statement, *args)
    assert error.value.sqlstate == "TL403"
    after = await superuser.fetchrow("SELECT * FROM events WHERE position = $1", position)
    assert after == before


async def test_replication_role_replica_does_not_switch_the_triggers_off(
    store_engine: AsyncEngine, superuser: asyncpg.Connection
) -> None:
    stream = fresh_stream()
    [position] = (await committed_append(store_engine, stream, 0, [opened(stream)])).positions
    with pytest.raises(asyncpg.PostgresError) as error:
        await in_transaction(
            superuser,
            "DELETE FROM events WHERE position = $1",
            position,
            setup="SET LOCAL session_replication_role = replica",
        )
    assert error.value.sqlstate == "TL403"
