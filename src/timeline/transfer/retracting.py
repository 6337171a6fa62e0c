"""The rows a release deletes, retracted a batch per transaction.

Those the deletions file lists that the release does not have, then (a full
release) the timeline's rows of the dataset that the release left out: both
anti-joins against the staged rows (release_rows, release_deleted).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.assertions import Assertion
from timeline.domain.events import AssertionEvent
from timeline.store.codec import RecordedEvent
from timeline.store.db import fetch
from timeline.transfer.deciding import Decider
from timeline.transfer.progress import Progress
from timeline.transfer.report import Release, ReleaseReport
from timeline.transfer.writing import Rows, write_rows

_KEPT = (
    "SELECT DISTINCT d.row_id FROM release_deleted d "
    "JOIN release_rows r ON r.row_id = d.row_id ORDER BY d.row_id"
)
# The rows to retract, in order: those the deletions file lists that the release does not
# have, then (a full release) those of the timeline's dataset rows the release left out.
_GONE = (
    "CREATE TEMP TABLE release_gone (n serial PRIMARY KEY, row_id text NOT NULL, why text)",
    "INSERT INTO release_gone (row_id, why) SELECT row_id, why FROM ("
    "  SELECT d.row_id, 'deleted by the dataset' AS why, 1 AS k FROM "
    "    (SELECT DISTINCT row_id FROM release_deleted) d "
    "   WHERE NOT EXISTS (SELECT 1 FROM release_rows r WHERE r.row_id = d.row_id) "
    "  UNION ALL "
    "  SELECT x.row_id, 'no longer in the release', 2 FROM "
    "    (SELECT DISTINCT e.data->'dataset_row'->>'row_id' AS row_id FROM events e "
    "      WHERE $1::boolean AND e.timeline = $2 AND e.type = 'AssertionRecorded' "
    "        AND e.data->'dataset_row'->>'dataset' = $3) x "
    "   WHERE NOT EXISTS (SELECT 1 FROM release_rows r WHERE r.row_id = x.row_id) "
    "     AND NOT EXISTS (SELECT 1 FROM release_deleted d WHERE d.row_id = x.row_id) "
    ") g ORDER BY k, row_id",
)
_GONE_PAGE = "SELECT n, row_id, why FROM release_gone WHERE n > $1 ORDER BY n LIMIT $2"
_GONE_COUNT = "SELECT count(*) AS n FROM release_gone"


def _retracted(row_id: str, state: Assertion, into: ReleaseReport) -> bool:
    return state.status == "retracted"


async def retract(
    conn: AsyncConnection,
    release: Release,
    decider: Decider,
    report: ReleaseReport,
    metadata: dict[str, str],
    batch: int,
    progress: Progress,
) -> None:
    """Retract the rows the release deletes; note the deleted rows it still has."""
    for r in await fetch(conn, _KEPT):
        report.note(f"row {r['row_id']}: listed as deleted and in the release; kept")
    create, fill = _GONE
    await fetch(conn, create)
    await fetch(conn, fill, release.full, release.timeline, release.codebook.name)
    (count,) = await fetch(conn, _GONE_COUNT)
    await conn.commit()
    total, last, done = count["n"], 0, 0
    why: dict[str, str] = {}

    def retract(
        row_id: str, recorded: Sequence[RecordedEvent], into: ReleaseReport
    ) -> list[AssertionEvent]:
        return decider.retract(row_id, recorded, why[row_id], into)

    while rows := await fetch(conn, _GONE_PAGE, last, batch):
        why = {r["row_id"]: r["why"] for r in rows}
        last = rows[-1]["n"]
        await write_rows(
            conn,
            Rows(
                release=release,
                row_ids=list(why),
                decide=retract,
                metadata=metadata,
                settled=_retracted,
            ),
            report,
        )
        done += len(rows)
        progress("retracting", done, total)
    await conn.commit()
