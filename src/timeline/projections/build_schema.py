"""The build schema a rebuild loads into (projections/rebuild.py): made, or resumed.

`projections_build` holds the new tables (primary keys only while loading), the
`build` row saying how far the feed has been applied, and while step 1 runs the
`loading` table with the last stream loaded. A run that died leaves them; the
next resumes from them.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import BigInteger, Column, DateTime, Table, Text, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateTable

from timeline.projections.assertions import assertions, payload_statistics, revisions
from timeline.projections.schema import SCHEMA
from timeline.projections.sources import sources
from timeline.projections.timelines import timelines
from timeline.store.feed import HORIZON
from timeline.store.tables import metadata

Feed = tuple[int, int]  # (transaction id, position)
StreamKey = tuple[str, str, int]  # (stream type, stream id, version)

BUILD_SCHEMA = "projections_build"
OLD_SCHEMA = "projections_old"
# Where step 1 (stream order) is: dropped when it is done, so never swapped in.
LOADING = f"{BUILD_SCHEMA}.loading"

# What the projections were built to by the last rebuild (one row).
build = Table(
    "build",
    metadata,
    Column("name", Text, primary_key=True),
    Column("feed_tx_id", BigInteger, nullable=False),
    Column("feed_position", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    schema=SCHEMA,
)
TABLES = (timelines, sources, assertions, revisions, build)


class Build(msgspec.Struct, kw_only=True):
    """Where a build is: the feed cursor, and the stream cursor while step 1 runs."""

    feed: Feed
    stream: StreamKey | None
    done: int
    resumed: bool


async def translated(conn: AsyncConnection) -> AsyncConnection:
    """The connection, writing `projections.*` statements into the build schema."""
    return await conn.execution_options(schema_translate_map={SCHEMA: BUILD_SCHEMA})


async def schema_exists(conn: AsyncConnection, name: str) -> bool:
    sql = text("SELECT 1 FROM pg_namespace WHERE nspname = :name")
    return await conn.scalar(sql, {"name": name}) is not None


async def resume(conn: AsyncConnection) -> Build | None:
    """The state of a build a previous run left, if it can go on."""
    row = (
        await conn.execute(
            text(
                f"SELECT feed_tx_id, feed_position, events FROM {BUILD_SCHEMA}.build "
                "WHERE name = 'rebuild' AND state = 'building'"
            )
        )
    ).first()
    if row is None:
        return None
    stream: StreamKey | None = None
    if await conn.scalar(text(f"SELECT to_regclass('{LOADING}') IS NOT NULL")):
        at = (
            await conn.execute(text(f"SELECT stream_type, stream_id, version FROM {LOADING}"))
        ).one()
        stream = (at.stream_type, at.stream_id, int(at.version))
    return Build(
        feed=(int(row.feed_tx_id), int(row.feed_position)),
        stream=stream,
        done=int(row.events),
        resumed=True,
    )


async def prepare(engine: AsyncEngine) -> Build:
    """The build schema ready to load into, fresh or as a previous run left it."""
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {OLD_SCHEMA} CASCADE"))
        if await schema_exists(conn, BUILD_SCHEMA):
            build = await resume(conn)
            if build is not None:
                return build
            await conn.execute(text(f"DROP SCHEMA {BUILD_SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {BUILD_SCHEMA}"))
        into = await translated(conn)
        for table in TABLES:
            await into.execute(CreateTable(table))
        for statement in payload_statistics(BUILD_SCHEMA):
            await conn.execute(text(statement))
        # Step 1 covers the transactions older than the horizon; the feed goes on from it.
        horizon = int(await conn.scalar(text(f"SELECT {HORIZON}::text")) or 0)
        await conn.execute(
            text(
                f"INSERT INTO {BUILD_SCHEMA}.build "
                "(name, feed_tx_id, feed_position, events, state, updated_at) "
                "VALUES ('rebuild', :tx, 0, 0, 'building', now())"
            ),
            {"tx": horizon},
        )
        await conn.execute(
            text(f"CREATE TABLE {LOADING} (stream_type text, stream_id text, version bigint)")
        )
        await conn.execute(text(f"INSERT INTO {LOADING} VALUES ('', '', 0)"))
    return Build(feed=(horizon, 0), stream=("", "", 0), done=0, resumed=False)
