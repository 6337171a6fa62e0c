"""The one database-access policy: every connection of the process comes from here.

- **The pool** is SQLAlchemy's, on asyncpg (`create_engine`). Everything that is
  not a hot path uses SQLAlchemy Core on it.
- **The hot paths** (appending, reading streams, the feed's pages, COPY) go
  straight to the asyncpg connection under a pooled SQLAlchemy connection,
  through `fetch` and `copy_records` only: SQLAlchemy's execute path costs
  more client CPU than the statement's round trip. They run inside the
  caller's transaction, or in autocommit on a connection set to it.
- **Dedicated connections** (the feed's LISTEN connection and its notifier)
  come from `connect_dedicated`, with the same timeouts and settings.
- **Timeouts** (`Timeouts`): the server's statement_timeout, the driver's
  command timeout (which also catches a server that is frozen or unreachable,
  where the server's own timeout never fires), the pool's checkout timeout and
  the connect timeout. The API's are short, so a request answers 503 within
  about two seconds; the CLI's allow long work (imports, rebuilds).
- **A connection that fails** (closed, reset, timed out, or in a state the
  driver cannot use) is invalidated: closed, never handed out again, and every
  other connection the pool made before it is replaced at its next checkout,
  since a server that dropped one (a restart) dropped them all. The caller
  gets DatabaseUnavailable, which the API answers 503 with Retry-After.
  `connect` and `begin` are the only ways in; they translate every such failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from timeline.store.errors import DatabaseUnavailable
from timeline.store.lost import describe, discard, is_lost, mark_lost

# A session idle inside a transaction holds the feed's horizon back; cut it off.
IDLE_IN_TRANSACTION_TIMEOUT = "60s"


class Timeouts(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds; None for no limit."""

    statement: float | None  # the server's statement_timeout
    command: float | None  # the driver's wait for any one statement's answer
    acquire: float  # waiting for a pooled connection
    connect: float  # opening a connection


# The API: a frozen or unreachable server costs a request at most about 2 s.
API_TIMEOUTS = Timeouts(statement=1.0, command=1.5, acquire=1.0, connect=1.5)
# The CLI and background work (imports, rebuilds, exports): no statement limit.
CLI_TIMEOUTS = Timeouts(statement=None, command=None, acquire=30.0, connect=10.0)


def sqlalchemy_url(url: str) -> str:
    """A postgresql:// URL as SQLAlchemy's asyncpg URL."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


def asyncpg_dsn(url: str) -> str:
    """A postgresql:// URL as asyncpg takes it."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def _server_settings(application: str, timeouts: Timeouts) -> dict[str, str]:
    settings = {
        "application_name": application,
        "idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION_TIMEOUT,
        "jit": "off",
    }
    if timeouts.statement is not None:
        settings["statement_timeout"] = f"{round(timeouts.statement * 1000)}ms"
    return settings


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    application: str = "timeline",
    timeouts: Timeouts = CLI_TIMEOUTS,
) -> AsyncEngine:
    """The process's pool on `url`, with this module's timeouts and failure handling."""
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeouts.acquire,
        # No pre-ping: it is one more round trip on every checkout. A connection that
        # died while pooled fails its first use, and then the pool is renewed (below).
        pool_pre_ping=False,
        connect_args={
            "server_settings": _server_settings(application, timeouts),
            "command_timeout": timeouts.command,
            "timeout": timeouts.connect,
        },
    )
    event.listen(engine.sync_engine, "handle_error", mark_lost)
    event.listen(engine.sync_engine.pool, "checkout", _closed_meanwhile)
    return engine


def _closed_meanwhile(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Never hand out a pooled connection the server closed while it sat in the pool.

    A restart or pg_terminate_backend closes the socket, and asyncpg notices at
    once (no round trip): the pool then drops it and checks out another.
    """
    driver = getattr(dbapi_connection, "_connection", None)
    if driver is not None and driver.is_closed():
        raise sa_exc.DisconnectionError("the server closed this connection")


async def connect_dedicated(
    url: str, *, application: str, timeouts: Timeouts = API_TIMEOUTS
) -> asyncpg.Connection:
    """A connection of its own, outside the pool (the feed's LISTEN connection)."""
    return await asyncpg.connect(
        asyncpg_dsn(url),
        server_settings=_server_settings(application, timeouts),
        command_timeout=timeouts.command,
        timeout=timeouts.connect,
    )


@asynccontextmanager
async def _translated(opening: Any) -> AsyncIterator[AsyncConnection]:
    try:
        async with opening as conn:
            try:
                yield conn
            except BaseException as error:
                if isinstance(error, Exception) and is_lost(error):
                    await discard(conn, error)
                raise
    except DatabaseUnavailable:
        raise
    except Exception as error:
        if is_lost(error):
            raise DatabaseUnavailable(describe(error)) from error
        raise


def connect(engine: AsyncEngine) -> Any:
    """`async with connect(engine) as conn`: a pooled connection, failures translated.

    An engine with `isolation_level="AUTOCOMMIT"` set (execution_options) gives
    autocommit connections: one statement, no BEGIN and COMMIT round trips.
    """
    return _translated(engine.connect())


def begin(engine: AsyncEngine) -> Any:
    """`async with begin(engine) as conn`: a transaction, committed at the end."""
    return _translated(engine.begin())


# -- the hot paths, straight to the driver -------------------------------------


async def driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside the caller's transaction if it has one.

    SQLAlchemy begins a transaction lazily: both its own (autobegin, at the first
    execute) and the driver's (BEGIN, sent by its asyncpg adapter before the first
    statement). A statement sent straight to the driver before either would
    commit on its own, so both are started here first, the same way SQLAlchemy
    would. A connection the caller set to AUTOCOMMIT stays out of one.
    """
    if not conn.in_transaction():
        await conn.begin()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        start = getattr(raw.dbapi_connection, "_start_transaction", None)
        if start is not None:
            # The adapter's own BEGIN: it honours the isolation level (none in
            # autocommit), read-only and deferrable settings, and the adapter then
            # commits and rolls it back.
            await start()
        else:  # another adapter version: let SQLAlchemy begin, one more round trip
            await conn.exec_driver_sql("SELECT 1")
    return driver


async def fetch(conn: AsyncConnection, statement: str, *args: Any) -> list[Any]:
    """asyncpg records of `statement`, run on the driver under `conn`.

    A lost connection is discarded and raises DatabaseUnavailable; any other
    error comes out as SQLAlchemy's DBAPIError (the asyncpg error in `.orig`),
    as it does from every statement sent through SQLAlchemy.
    """
    try:
        driver = await driver_of(conn)
        records: list[Any] = await driver.fetch(statement, *args)
    except Exception as error:
        raise await _failed(conn, statement, args, error) from error
    return records


async def copy_records(
    conn: AsyncConnection,
    table: str,
    *,
    schema: str | None,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]],
) -> None:
    """COPY `records` into `table`, inside the caller's transaction."""
    try:
        driver = await driver_of(conn)
        await driver.copy_records_to_table(
            table, schema_name=schema, columns=list(columns), records=records
        )
    except Exception as error:
        raise await _failed(conn, f"COPY {table}", (), error) from error


async def _failed(
    conn: AsyncConnection, statement: str, args: Sequence[Any], error: Exception
) -> Exception:
    if is_lost(error):
        await discard(conn, error)
        return DatabaseUnavailable(describe(error))
    if isinstance(error, asyncpg.PostgresError):
        return sa_exc.DBAPIError(statement, list(args), error)
    return error


async def wait_closed(connection: asyncpg.Connection | None, within: float = 1.0) -> None:
    """Close a dedicated connection politely, or drop it if the server does not answer."""
    if connection is None or connection.is_closed():
        return
    try:
        await asyncio.wait_for(connection.close(), within)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        connection.terminate()
