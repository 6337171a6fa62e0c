"""What counts as a lost connection, and what becomes of one.

A server that is going away or gone (closed, reset, timed out, a connection
the driver cannot use) is told apart from a request that is wrong: a lost
connection is invalidated and the caller gets DatabaseUnavailable (503), a
wrong request its own error. `db.py` wires these into the pool and the hot paths.
"""

from __future__ import annotations

import contextlib

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.errors import DatabaseUnavailable

# -- what counts as a lost connection ------------------------------------------

# SQLSTATE classes of a server that is going away or gone: connection exceptions
# (08), operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03
# cannot connect now), and a statement cut by statement_timeout (57014).
_LOST_STATES = ("08", "57P", "57014")


def sqlstate(error: BaseException) -> str | None:
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def is_lost(error: BaseException) -> bool:
    """True when `error` says the database does not answer, not that the request is wrong."""
    if isinstance(error, DatabaseUnavailable):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection within `acquire`
        return True
    cause = getattr(error, "orig", None) or error
    if isinstance(
        cause,
        (
            TimeoutError,
            OSError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
            asyncpg.PostgresConnectionError,
        ),
    ):
        return True
    state = sqlstate(error)
    return state is not None and state.startswith(_LOST_STATES)


def mark_lost(context: ExceptionContext) -> None:
    """SQLAlchemy's hook on every failed statement: a lost connection is a disconnect.

    SQLAlchemy then invalidates the connection and renews the pool itself. Its
    own test only knows "connection is closed"; a timed-out statement leaves the
    asyncpg connection mid-protocol ("cannot switch to state"), unusable too.
    A statement_timeout (57014) leaves the connection usable: not a disconnect.
    """
    error = context.original_exception
    if sqlstate(error) == "57014":
        return
    if is_lost(error):
        context.is_disconnect = True
        # Abort the socket now, or SQLAlchemy's invalidation tries a polite close
        # first, which waits up to 2 s more on a server that does not answer.
        with contextlib.suppress(Exception):
            connection = context.connection
            driver = connection.connection.driver_connection if connection else None
            if driver is not None and not driver.is_closed():
                driver.terminate()


async def discard(conn: AsyncConnection, error: BaseException) -> None:
    """Never hand `conn` out again, and renew every connection made before it."""
    if sqlstate(error) == "57014":
        return  # the server cut a slow statement; the connection is fine
    if conn.invalidated or conn.closed:
        return
    try:
        pool = conn.sync_engine.pool
        fairy = conn.sync_connection.connection if conn.sync_connection else None
        if fairy is not None:
            pool._invalidate(fairy, error if isinstance(error, Exception) else None, _checkin=False)
            driver = fairy.driver_connection
            if driver is not None and not driver.is_closed():
                # Abort the socket now: SQLAlchemy's own invalidation first tries a polite
                # close, which waits up to 2 s more on a server that does not answer.
                driver.terminate()
    except sa_exc.SQLAlchemyError:
        pass  # the connection already went; invalidate() below still drops it
    await conn.invalidate(error if isinstance(error, Exception) else None)


def describe(error: BaseException) -> str:
    """A one-line reason for a log line or a 503's detail."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
