"""A re-import of the very file a timeline last took for a release: nothing to read.

The digest is SHA-256 over the dataset's name, the mapping's version
(settled.MAPPING_VERSION: a mapping that changed must miss), the release
file's bytes and the deletions file's. `dataset_releases` keeps, for the last
complete import of the newest release, the digest, the report a re-import of
those bytes would give (`reimport_of`), and `settled_tx`: the feed's horizon
once the import was done (ordering.remember), so every write since has a
transaction id from it on.

A re-import of the same release date whose digest matches, into a timeline
with no assertion event from `settled_tx` on, would find every row settled
(same bytes, same rows, same hashes, and no assertion moved on from the row its
hash was stored with) and every deletion done. It answers that report, having
read the files once to hash them and asked PostgreSQL one question, which the
index on events (timeline, tx_id, position) answers from the events since.

Anything else goes the usual way: other bytes, any assertion event on the
timeline since (a revision or retraction through the API, a withdrawn
source's note, another dataset's import), an import that had bad rows (no
digest is kept for it), a release taken in part (an import clears the digest
before it writes and sets it when it ends), or a writer older than the
import's end still running `SETTLE_SECONDS` after it (the horizon then lies
below the import's own writes, which then count as writes since).
"""

from __future__ import annotations

import hashlib

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.transfer.progress import Progress
from timeline.transfer.report import Release, ReleaseReport
from timeline.transfer.settled import MAPPING_VERSION

_BLOCK = 1 << 20

# The re-import report kept for these very files, when no assertion event of the timeline
# has been written since (every such write has a transaction id from settled_tx on).
_SAME = text(
    "SELECT r.reimport::text FROM dataset_releases r "
    "WHERE r.timeline = :slug AND r.dataset = :dataset AND r.reported_at = :at "
    "AND r.digest = :digest AND r.reimport IS NOT NULL AND NOT EXISTS ("
    "  SELECT 1 FROM events e WHERE e.timeline = r.timeline AND e.tx_id >= r.settled_tx "
    "  AND e.stream_type = 'assertion')"
)

_decoder = msgspec.json.Decoder(ReleaseReport)


def digest(
    release: Release, path: str, deletions: str | None, progress: Progress, size: int | None
) -> bytes:
    """The digest of a release's files; progress ("hashing") counts the release file's bytes."""
    h = hashlib.sha256(f"{release.codebook.name}\x1f{MAPPING_VERSION}\x1e".encode())
    for number, name in enumerate((path, deletions)):
        h.update(b"\x1d")
        if name is None:
            continue
        done = 0
        with open(name, "rb") as stream:
            while block := stream.read(_BLOCK):
                h.update(block)
                done += len(block)
                if number == 0:
                    progress("hashing", done, size)
    return h.digest()


def reimport_of(report: ReleaseReport) -> ReleaseReport | None:
    """What a re-import of the same files would report after this import, when nothing
    changed in between; None when the import had bad rows (it took the release in part).

    Every row this import recorded or revised is then unchanged; a row it noted (one
    standing for a retracted assertion, or first reported after the release) is noted
    again, as is every deletion it noted; the rows it retracted are done.
    """
    if report.bad:
        return None
    return ReleaseReport(
        rows=report.rows,
        unchanged=report.recorded + report.revised + report.unchanged,
        skipped=report.skipped,
        notes=list(report.notes),
    )


async def same_release(
    engine: AsyncEngine, release: Release, file_digest: bytes
) -> ReleaseReport | None:
    """The report of a re-import when these are the files the timeline last took for this
    release and nothing of it changed since, else None."""
    async with engine.connect() as conn:
        found: str | None = await conn.scalar(
            _SAME,
            {
                "slug": release.timeline,
                "dataset": release.codebook.name,
                "at": release.reported_at,
                "digest": file_digest,
            },
        )
    return None if found is None else _decoder.decode(found)
