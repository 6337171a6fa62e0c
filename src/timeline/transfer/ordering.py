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
# import wrote and the log's end then, so only the events after it are read; without
# a row (a store that got the timeline by `timeline import` of NDJSON), all of them.
_DATASET_EVENTS = (
    "SELECT max(reported_at) FROM events e WHERE {where} e.timeline = :slug "
    "AND e.stream_type = 'assertion' "
    "AND (e.data->'dataset_row'->>'dataset' = :dataset "
    "     OR (e.type = 'AssertionRetracted' AND e.data->>'reason' LIKE :reason))"
)
_NEWEST_RELEASE = text(
    "SELECT r.reported_at, ("
    + _DATASET_EVENTS.format(where="e.position > r.through_position AND")
    + ") AS later FROM dataset_releases r WHERE r.timeline = :slug AND r.dataset = :dataset"
)
_ANY_RELEASE = text(_DATASET_EVENTS.format(where=""))
# The digest, re-import report and settled_tx (unchanged.py) are of the newest release only.
_RELEASED = text(
    "INSERT INTO dataset_releases AS r "
    "(timeline, dataset, reported_at, through_position, digest, reimport, settled_tx) "
    "VALUES (:slug, :dataset, CAST(:at AS timestamptz), :through, CAST(:digest AS bytea), "
    "CAST(:reimport AS jsonb), CAST(CAST(:settled_tx AS text) AS xid8)) "
    "ON CONFLICT (timeline, dataset) DO UPDATE SET "
    "reported_at = greatest(r.reported_at, excluded.reported_at), "
    "through_position = greatest(r.through_position, excluded.through_position), "
    "digest = CASE WHEN excluded.reported_at >= r.reported_at THEN excluded.digest END, "
    "reimport = CASE WHEN excluded.reported_at >= r.reported_at THEN excluded.reimport END, "
    "settled_tx = CASE WHEN excluded.reported_at >= r.reported_at THEN excluded.settled_tx END"
)
_FORGET = text(
    "UPDATE dataset_releases SET digest = NULL, reimport = NULL, settled_tx = NULL "
    "WHERE timeline = :slug AND dataset = :dataset"
)
# The log's end, and the first transaction id not yet handed out: a transaction that wrote
# at or below that end has an older id.
_END = text(
    "SELECT coalesce(max(position), 0) AS through, "
    "pg_snapshot_xmax(pg_current_snapshot())::text AS next_tx FROM events"
)
_ENDED = text("SELECT timeline_feed_horizon() >= CAST(CAST(:tx AS text) AS xid8)")
# How long `remember` waits for the writers older than the import's end to finish (a
# writer of another client, or one of the import's own that has not yet let go).
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


async def _settled_since(engine: AsyncEngine, tx: str) -> bool:
    """Whether every transaction older than `tx` has ended, waiting SETTLE_SECONDS at most."""
    deadline = time.monotonic() + SETTLE_SECONDS
    async with engine.connect() as conn:
        while True:
            if await conn.scalar(_ENDED, {"tx": tx}):
                return True
            await conn.rollback()  # a fresh snapshot for the next look
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)


async def remember(
    engine: AsyncEngine, release: Release, digest: bytes, reimport: ReleaseReport | None
) -> None:
    """Note this release as the newest one an import wrote, with the log's end now, its
    files' digest and what a re-import of them would report (None: no digest is kept).

    The digest is kept only once every transaction older than the log's end has ended:
    a write to the timeline still in flight now could otherwise commit below settled_tx
    and go unseen by the next re-import.
    """
    async with engine.connect() as conn:
        end = (await conn.execute(_END)).one()
    if reimport is not None and not await _settled_since(engine, end.next_tx):
        reimport = None
    params = {
        "slug": release.timeline,
        "dataset": release.codebook.name,
        "at": release.reported_at,
        "through": end.through,
        "digest": None if reimport is None else digest,
        "reimport": None if reimport is None else msgspec.json.encode(reimport).decode(),
        "settled_tx": None if reimport is None else end.next_tx,
    }
    async with engine.begin() as conn:
        await conn.execute(_RELEASED, params)


async def forget(engine: AsyncEngine, release: Release) -> None:
    """Before an import writes: no digest stands for files it may take only in part."""
    async with engine.begin() as conn:
        await conn.execute(_FORGET, {"slug": release.timeline, "dataset": release.codebook.name})
