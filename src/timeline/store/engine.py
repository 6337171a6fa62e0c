"""The async engine on asyncpg."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# A session idle inside a transaction holds the feed's horizon back; cut it off.
IDLE_IN_TRANSACTION_TIMEOUT = "60s"


def sqlalchemy_url(url: str) -> str:
    """A postgresql:// URL as SQLAlchemy's asyncpg URL."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


def asyncpg_dsn(url: str) -> str:
    """A postgresql:// URL as asyncpg takes it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def create_engine(url: str, *, pool_size: int = 10, application: str = "timeline") -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it is one more round trip on every checkout, a quarter of
        # an append's (BEGIN, timeline_append, COMMIT). A connection that died
        # while pooled fails its first use, and SQLAlchemy then drops the pool.
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                "application_name": application,
                "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
                "jit": "off",
            }
        },
    )


async def driver_in_transaction(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside the caller's transaction.

    SQLAlchemy begins a transaction lazily: both its own (autobegin, at the first
    execute) and the driver's (BEGIN, sent by its asyncpg adapter before the first
    statement). A statement sent straight to the driver before either would
    commit on its own, so both are started here first, the same way SQLAlchemy
    would. Only a connection the caller set to AUTOCOMMIT stays out of one.
    """
    if not conn.in_transaction():
        await conn.begin()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        start = getattr(raw.dbapi_connection, "_start_transaction", None)
        if start is not None:
            # The adapter's own BEGIN: it honours the isolation level, read-only and
            # deferrable settings, and the adapter then commits and rolls it back.
            await start()
        else:  # another adapter version: let SQLAlchemy begin, one more round trip
            await conn.exec_driver_sql("SELECT 1")
    return driver


async def fetch_in_transaction(conn: AsyncConnection, statement: str, *args: Any) -> list[Any]:
    """asyncpg records of `statement`, run on the driver inside the caller's transaction.

    Errors come out as SQLAlchemy's DBAPIError (the asyncpg error in `.orig`),
    as they do from every statement sent through SQLAlchemy.
    """
    driver = await driver_in_transaction(conn)
    try:
        records: list[Any] = await driver.fetch(statement, *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        lost = isinstance(error, asyncpg.ConnectionDoesNotExistError) or driver.is_closed()
        raise DBAPIError(statement, args, error, connection_invalidated=lost) from error
    return records
