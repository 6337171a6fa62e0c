"""A relay's checkpoint and its lock, both in the database it relays.

The checkpoint is the cursor of the last acknowledged event the relay has
saved; it is saved in batches, after the broker's acks, so it only ever lags
what the broker holds. A save never moves it back (a relay that lost its lock
and has not noticed yet may still save an older cursor).

One relay publishes per stream: it holds a session-level advisory lock on its
own connection for as long as it publishes. When its process dies, the server
sees the connection close and frees the lock, and a waiting relay takes it.
"""

from __future__ import annotations

import zlib

import asyncpg
from sqlalchemy import BigInteger, Column, DateTime, Table, Text, func, text

from timeline.store.tables import metadata

relay_checkpoints = Table(
    "relay_checkpoints",
    metadata,
    Column("name", Text, primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("tx_id", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("published", BigInteger, nullable=False, server_default=text("0")),
    Column("saved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# 'TLRL': the advisory-lock space of relays; the low 32 bits name the stream.
LOCK_SPACE = 0x544C524C

_LOAD = "SELECT cursor FROM relay_checkpoints WHERE name = $1"

# Insert, or move forward only: (tx_id, position) is the cursor's place in feed order.
_SAVE = (
    "INSERT INTO relay_checkpoints AS c (name, cursor, tx_id, position, published) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET "
    "cursor = excluded.cursor, tx_id = excluded.tx_id, position = excluded.position, "
    "published = c.published + excluded.published, saved_at = now() "
    "WHERE (c.tx_id, c.position) < (excluded.tx_id, excluded.position)"
)


def lock_key(name: str) -> int:
    """The advisory lock a relay of stream `name` holds while it publishes."""
    return (LOCK_SPACE << 32) | zlib.crc32(name.encode())


async def try_lock(conn: asyncpg.Connection, name: str) -> bool:
    """Take the relay lock for `name` on this session, if no other session has it."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(name)))


async def load_checkpoint(conn: asyncpg.Connection, name: str) -> str | None:
    value = await conn.fetchval(_LOAD, name)
    return None if value is None else str(value)


async def save_checkpoint(
    conn: asyncpg.Connection, name: str, cursor: str, place: tuple[int, int], published: int
) -> None:
    """Record that every event up to `cursor` (at `place`) is in the broker."""
    await conn.execute(_SAVE, name, cursor, place[0], place[1], published)
