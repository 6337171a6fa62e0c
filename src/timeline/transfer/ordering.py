"""The release order: the newest release of a dataset that a timeline holds.

Releases go in date order (release.py says why); this finds the newest one
cheaply and remembers each import's.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.transfer.report import Release, ReleaseReport

# The newest release of a dataset this timeline holds: every event a release writes
# carries its date as reported_at (recordings and revisions also the dataset row,
# retractions the release in their reason). `dataset_releases` remembers the newest an
# import wrote and how far the log was settled then (`remember`): every event is at or
# below through_position, or has a transaction id from settled_tx on. So only the
# events after that are read; without a row (a store that got the timeline by
# `timeline import` of NDJSON), all of them.
_DATASET_EVENTS = (
    "SELECT max(reported_at) FROM events e WHERE {where} e.timeline = :slug "
    "AND e.stream_type = 'assertion' "
    "AND (e.data->'dataset_row'->>'dataset' = :dataset "
    "     OR (e.type = 'AssertionRetracted' AND e.data->>'reason' LIKE :reason))"
)
_NEWEST_RELEASE = text(
    "SELECT r.reported_at, ("
    + _DATASET_EVENTS.format(
        where="(e.position > r.through_position OR e.tx_id >= r.settled_tx) AND"
    )
    + ") AS later FROM dataset_releases r WHERE r.timeline = :slug AND r.dataset = :dataset"
)
_ANY_RELEASE = text(_DATASET_EVENTS.format(where=""))
# The digest and re-import report (unchanged.py) are of the newest release only.
_RELEASED = text(
    "INSERT INTO dataset_releases AS r "
    "(timeline, dataset, reported_at, through_position, settled_tx, digest, reimport) "
    "SELECT :slug, :dataset, CAST(:at AS timestamptz), coalesce(max(position), 0), "
    "CAST(CAST(:settled_tx AS text) AS xid8), CAST(:digest AS bytea), "
    "CAST(:reimport AS jsonb) FROM events "
    "ON CONFLICT (timeline, dataset) DO UPDATE SET "
    "reported_at = greatest(r.reported_at, excluded.reported_at), "
    "through_position = excluded.through_position, settled_tx = excluded.settled_tx, "
    "digest = CASE WHEN excluded.reported_at >= r.reported_at THEN excluded.digest END, "
    "reimport = CASE WHEN excluded.reported_at >= r.reported_at THEN excluded.reimport END"
)
_FORGET = text(
    "UPDATE dataset_releases SET digest = NULL, reimport = NULL "
    "WHERE timeline = :slug AND dataset = :dataset"
)
# The first transaction id not yet handed out: every transaction of the import has an older one.
_NEXT_TX = text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
_HORIZON = text(
    "SELECT h::text AS horizon, h >= CAST(CAST(:tx AS text) AS xid8) AS past "
    "FROM timeline_feed_horizon() AS h"
)
# How long `remember` waits for transactions older than the import's end (a writer of
# another client) to finish, so that the settled mark lies above the import's own writes.
SETTLE_SECONDS = 5.0


def _params(release: Release) -> dict[str, str]:
    return {
        "slug": release.timeline,
        "dataset": release.codebook.name,
        "reason": f"{release.codebook.label} release %",
    }


async def newest_release(engine: AsyncEngine, release: Release) -> datetime | None:
    """When the newest release of this dataset in this timeline was reported, if any."""
    async with engine.connect() as conn:
        row = (await conn.execute(_NEWEST_RELEASE, _params(release))).first()
        if row is None:
            newest: datetime | None = await conn.scalar(_ANY_RELEASE, _params(release))
            return newest
        times: list[datetime] = [t for t in (row.reported_at, row.later) if t is not None]
        return max(times)


async def _horizon_past(engine: AsyncEngine, tx: str) -> str:
    """The feed's horizon once it has passed `tx` (every older transaction has ended), or
    as it stands after SETTLE_SECONDS of waiting for that."""
    deadline = time.monotonic() + SETTLE_SECONDS
    async with engine.connect() as conn:
        while True:
            row = (await conn.execute(_HORIZON, {"tx": tx})).one()
            await conn.rollback()  # a fresh snapshot for the next look
            if row.past or time.monotonic() >= deadline:
                return str(row.horizon)
            await asyncio.sleep(0.02)


async def remember(
    engine: AsyncEngine, release: Release, digest: bytes, reimport: ReleaseReport | None
) -> None:
    """Note this release as the newest one an import wrote, how far the log was settled
    then, its files' digest and what a re-import of them would report (None: no digest).

    The mark is the feed's horizon H, then the log's end: every transaction older than H
    had ended, so its events were visible to the later statement and lie at or below the
    end; any other event has a transaction id from H on. So no write can slip under the
    mark, not even one in flight now that holds a position below the end. Waiting first
    for the transactions older than the import's end lifts H above the import's own.
    """
    async with engine.connect() as conn:
        next_tx = str(await conn.scalar(_NEXT_TX))
    horizon = await _horizon_past(engine, next_tx)
    params = {
        "slug": release.timeline,
        "dataset": release.codebook.name,
        "at": release.reported_at,
        "settled_tx": horizon,
        "digest": None if reimport is None else digest,
        "reimport": None if reimport is None else msgspec.json.encode(reimport).decode(),
    }
    async with engine.begin() as conn:  # a statement, so a snapshot, taken after H
        await conn.execute(_RELEASED, params)


async def forget(engine: AsyncEngine, release: Release) -> None:
    """Before an import writes: no digest stands for files it may take only in part."""
    async with engine.begin() as conn:
        await conn.execute(_FORGET, {"slug": release.timeline, "dataset": release.codebook.name})
