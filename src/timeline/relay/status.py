"""`timeline relay status`: each relay's checkpoint, whether one holds the lock, and its lag.

Lag is counted from the saved checkpoint, which trails what the broker holds by
at most one batch (`--checkpoint-every` events or `--checkpoint-seconds`).
"""

from __future__ import annotations

import sys
from datetime import datetime

import msgspec
from sqlalchemy import text

from timeline.relay.checkpoint import LOCK_SPACE, lock_key
from timeline.store.cursor import decode_cursor
from timeline.store.db import connect, create_engine
from timeline.store.feed import HORIZON, store_id

# Events past the checkpoint the relay may publish now, and the oldest one's age.
_LAG = text(
    "SELECT count(*), extract(epoch FROM now() - min(recorded_at)) FROM events "
    "WHERE (tx_id, position) > (CAST(CAST(:tx AS text) AS xid8), :pos) "
    f"AND tx_id < {HORIZON}"
)


class RelayStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    cursor: str | None
    published: int
    saved_at: datetime | None
    saved_seconds_ago: float | None
    running: bool  # a relay holds this stream's lock
    lag_events: int  # settled events after the checkpoint
    lag_seconds: float  # age of the oldest of them (0 when none)


async def relay_status(url: str, name: str | None = None) -> list[RelayStatus]:
    """Every relay with a checkpoint (or just `name`, checkpoint or not)."""
    engine = create_engine(url, pool_size=1, application="timeline-relay-status")
    try:
        async with connect(engine) as conn:
            store = await store_id(conn)
            rows = (
                await conn.execute(
                    text(
                        "SELECT name, cursor, published, saved_at, "
                        "extract(epoch FROM now() - saved_at) FROM relay_checkpoints "
                        "WHERE CAST(:name AS text) IS NULL OR name = :name ORDER BY name"
                    ),
                    {"name": name},
                )
            ).all()
            found = {row[0]: row for row in rows}
            if name is not None and name not in found:
                found[name] = (name, None, 0, None, None)
            result = []
            for relay, cursor, published, saved_at, age in found.values():
                tx, pos = decode_cursor(store, cursor) if cursor else (0, 0)
                count, oldest = (await conn.execute(_LAG, {"tx": str(tx), "pos": pos})).one()
                held = await conn.scalar(
                    text(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                        "AND granted AND classid = :space AND objid = :low AND objsubid = 1 "
                        "AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database()))"
                    ),
                    {"space": LOCK_SPACE, "low": lock_key(relay) & 0xFFFFFFFF},
                )
                result.append(
                    RelayStatus(
                        name=relay,
                        cursor=cursor,
                        published=int(published),
                        saved_at=saved_at,
                        saved_seconds_ago=None if age is None else float(age),
                        running=bool(held),
                        lag_events=int(count),
                        lag_seconds=float(oldest or 0.0),
                    )
                )
            return result
    finally:
        await engine.dispose()


async def cli_status(url: str, name: str | None, as_json: bool) -> int:
    """Print each relay's state, as text or JSON."""
    statuses = await relay_status(url, name)
    if as_json:
        sys.stdout.write(msgspec.json.encode(statuses).decode() + "\n")
    elif not statuses:
        print("no relay has published from this database yet")
    for s in [] if as_json else statuses:
        state = "running" if s.running else "not running"
        saved = "never" if s.saved_seconds_ago is None else f"{s.saved_seconds_ago:.1f} s ago"
        print(
            f"{s.name}: {state}; checkpoint saved {saved}; {s.published} published; "
            f"lag {s.lag_events} events ({s.lag_seconds:.1f} s)"
        )
    return 0
