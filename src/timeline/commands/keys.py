"""API keys: made, listed and revoked here; only a sha256 of each secret is stored.

A key reads `tl_<key_id>_<secret>`; the id is public (it names the key in
`keys list` and in event metadata), the whole string is the secret.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.db import create_engine
from timeline.store.tables import api_keys

SCOPES = ("read", "write")


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key as the server knows it: never its secret."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def hash_secret(secret: str) -> bytes:
    """The stored form of a key: sha256 of its text."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


async def create_key(conn: AsyncConnection, scopes: list[str], name: str = "") -> tuple[str, str]:
    """Make a key with `scopes`; returns (key_id, secret). The secret is not kept."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(SCOPES)}; got {scopes}")
    key_id = secrets.token_hex(6)
    secret = f"tl_{key_id}_{secrets.token_urlsafe(32)}"
    await conn.execute(
        insert(api_keys).values(
            key_id=key_id,
            name=name,
            secret_hash=hash_secret(secret),
            scopes=sorted(set(scopes)),
        )
    )
    return key_id, secret


async def find_key(conn: AsyncConnection, secret: str) -> ApiKey | None:
    """The live (unrevoked) key with this secret, or None."""
    row = (
        await conn.execute(
            select(api_keys).where(
                api_keys.c.secret_hash == hash_secret(secret), api_keys.c.revoked_at.is_(None)
            )
        )
    ).first()
    return None if row is None else _key(row)


async def list_keys(conn: AsyncConnection) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included."""
    rows = await conn.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))
    return [_key(row) for row in rows]


async def revoke_key(conn: AsyncConnection, key_id: str) -> bool:
    """Revoke a key at once; False when no live key has that id."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return bool(result.rowcount)


def _key(row: Row[Any]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        key_id=m["key_id"],
        name=m["name"],
        scopes=tuple(m["scopes"]),
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


async def cli_create(url: str, scopes: list[str], name: str) -> int:
    """`timeline keys create`: prints the key alone on the last line of stdout."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            key_id, secret = await create_key(conn, scopes, name)
    finally:
        await engine.dispose()
    print(f"key {key_id} ({', '.join(sorted(set(scopes)))}); it is shown only once:")
    print(secret)
    return 0


async def cli_list(url: str) -> int:
    """`timeline keys list`: one key a line, never a secret."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            keys = await list_keys(conn)
    finally:
        await engine.dispose()
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        created = f"{key.created_at:%Y-%m-%d %H:%M}"
        print(f"{key.key_id}  {','.join(key.scopes):<11} {created}  {state:<24} {key.name}")
    if not keys:
        print("no keys yet: make one with `timeline keys create --scope write`", file=sys.stderr)
    return 0


async def cli_revoke(url: str, key_id: str) -> int:
    """`timeline keys revoke`: takes effect on the next request."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            revoked = await revoke_key(conn, key_id)
    finally:
        await engine.dispose()
    if not revoked:
        print(f"timeline: no live key {key_id!r}", file=sys.stderr)
        return 1
    print(f"key {key_id} revoked")
    return 0


async def cli_purge_idempotency(url: str, *, ttl: int, batch: int) -> int:
    """`timeline keys purge-idempotency`: expired Idempotency-Keys deleted, a batch at a time."""
    from timeline.store.idempotency import purge_expired_keys

    if batch < 1:
        print("timeline: --batch must be at least 1", file=sys.stderr)
        return 2
    engine = create_engine(url, pool_size=1)
    try:
        deleted = await purge_expired_keys(engine, ttl=ttl, batch=batch)
    finally:
        await engine.dispose()
    print(f"timeline: purged {deleted} idempotency keys older than {ttl} s", file=sys.stderr)
    print(deleted)
    return 0
