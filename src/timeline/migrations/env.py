"""Alembic environment: async, on asyncpg, targeting the store's and projections' metadata."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from timeline.schema import metadata
from timeline.store.db import create_engine

config = context.config
target_metadata = metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, compare_type=True, include_schemas=True
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("TIMELINE_DATABASE_URL")
    assert url, "set sqlalchemy.url (timeline migrate does it from TIMELINE_DATABASE_URL)"
    engine = create_engine(url, pool_size=1, application="timeline-migrate")
    try:
        async with engine.connect() as conn:
            # Two `timeline migrate` at once: the second waits, then finds nothing to do.
            await conn.execute(text("SELECT pg_advisory_lock(7261601)"))
            await conn.commit()
            try:
                await conn.run_sync(_run)
                await conn.commit()
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(7261601)"))
                await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
