"""The release order: the newest release of a dataset that a timeline holds.

Releases go in date order (release.py says why); this finds the newest one
cheaply and remembers each import's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.transfer.report import Release

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
_RELEASED = text(
    "INSERT INTO dataset_releases AS r (timeline, dataset, reported_at, through_position) "
    "SELECT :slug, :dataset, CAST(:at AS timestamptz), coalesce(max(position), 0) FROM events "
    "ON CONFLICT (timeline, dataset) DO UPDATE SET "
    "reported_at = greatest(r.reported_at, excluded.reported_at), "
    "through_position = greatest(r.through_position, excluded.through_position)"
)


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


async def remember(engine: AsyncEngine, release: Release) -> None:
    """Note this release as the newest one an import wrote, with the log's end now."""
    at = release.reported_at
    async with engine.begin() as conn:
        await conn.execute(
            _RELEASED, {"slug": release.timeline, "dataset": release.codebook.name, "at": at}
        )
