"""The async engine on asyncpg."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
