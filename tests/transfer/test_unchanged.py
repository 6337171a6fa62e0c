"""A re-import of the very files a timeline last took for a release answers from their digest.

What the shortcut must not lose: it answers only for the same bytes, of the
newest release, when nothing of the dataset moved on since; its report is the
one the row-by-row path gives; an import with bad rows, or one that stopped
after writing part of a release, leaves no digest that could stand for it.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.transfer.generate import acled_row, write_csv, write_file
from timeline.commands.handlers import change_assertion
from timeline.commands.writer import Writer
from timeline.domain.commands import RetractAssertion
from timeline.store.db import asyncpg_dsn
from timeline.transfer import acled, ordering, ucdp
from timeline.transfer.dataset import assertion_id
from timeline.transfer.progress import no_progress
from timeline.transfer.release import BadRows, Release, import_release
from timeline.transfer.report import ReleaseReport
from timeline.transfer.unchanged import digest, same_release

DAY = date(2024, 4, 30)
SLUG = "acled-digest"
ID = acled.COLUMNS.index("event_id_cnty")


def _release(slug: str = SLUG, day: date = DAY) -> Release:
    return Release(codebook=acled.CODEBOOK, timeline=slug, released=day)


async def _break_every_shortcut_but_the_digest(engine: AsyncEngine) -> None:
    """Stored hashes that match no row and states that do not decode: a re-import that
    looks at either (the settled path, the row-by-row path) now fails or writes."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE dataset_rows SET row_hash = '\\x00'::bytea"))
        await conn.execute(text("""UPDATE projections.assertions SET state = '{"x": 1}'"""))


async def _event_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)


async def _retract(engine: AsyncEngine, slug: str, row_id: str, at: datetime) -> None:
    """Retract a dataset row's assertion through the ordinary write path (an API client)."""
    cmd = RetractAssertion(
        assertion_id=assertion_id("acled", slug, row_id),
        reason="a reader found it doubled",
        reported_at=at,
    )
    await change_assertion(Writer(engine), cmd)


@asynccontextmanager
async def _open_transaction(url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another client's transaction, open for the block and committed at its end."""
    other = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with other.transaction():
            yield other
    finally:
        await other.close()


def _digest(path: Path) -> bytes:
    return digest(_release(), str(path), None, no_progress, None)


def _csv(path: Path, header: Sequence[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        write_csv(f, header, rows)
    return path


def _same_rows_other_bytes(path: Path, out: Path) -> Path:
    """The same rows, line for line, with LF line ends instead of CRLF and no BOM."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    with open(out, "w", encoding="utf-8", newline="") as f:
        write_csv(f, rows[0], rows[1:], crlf=False)
    return out


async def test_the_same_bytes_again_are_answered_without_reading_a_row(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 40)
    first = await import_release(empty, str(path), _release())
    assert first.recorded == 40
    events = await _event_count(empty)
    await _break_every_shortcut_but_the_digest(empty)
    again = await import_release(empty, str(path), _release())
    assert again == ReleaseReport(rows=40, unchanged=40)
    assert await _event_count(empty) == events


async def test_its_report_is_the_one_the_row_path_gives(empty: AsyncEngine, tmp_path: Path) -> None:
    """Notes and all: a row standing for a retracted assertion, deletions listed and done."""
    path = write_file(tmp_path / "a.csv", "acled", 30, skip=[4])
    gone, kept = acled_row(4)[ID], acled_row(9)[ID]
    deletions = tmp_path / "deleted.csv"
    _csv(deletions, ("event_id_cnty", "deleted_timestamp"), [[gone, "1"], [kept, "1"]])
    other = _same_rows_other_bytes(path, tmp_path / "lf.csv")
    for slug in ("fast", "slow"):
        first = write_file(tmp_path / "first.csv", "acled", 30)
        await import_release(empty, str(first), _release(slug, date(2024, 4, 1)))
        await _retract(empty, slug, acled_row(7)[ID], datetime(2024, 4, 2, tzinfo=UTC))
        taken = await import_release(empty, str(path), _release(slug), deletions=str(deletions))
        assert (taken.retracted, taken.skipped) == (1, 2)  # row 4 retracted; 7 and 9 noted
    events = await _event_count(empty)
    slow = await import_release(empty, str(other), _release("slow"), deletions=str(deletions))
    await _break_every_shortcut_but_the_digest(empty)
    fast = await import_release(empty, str(path), _release("fast"), deletions=str(deletions))
    assert fast == slow
    assert (fast.rows, fast.unchanged, fast.skipped, fast.retracted) == (29, 28, 2, 0)
    assert await _event_count(empty) == events


async def test_a_change_since_then_is_not_hidden(empty: AsyncEngine, tmp_path: Path) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 20)
    await import_release(empty, str(path), _release())
    row_id = acled_row(3)[ID]
    await _retract(empty, SLUG, row_id, datetime(2024, 4, 30, 12, tzinfo=UTC))
    report = await import_release(empty, str(path), _release())
    assert (report.unchanged, report.skipped) == (19, 1)
    assert report.notes[0].endswith(f"row {row_id} was retracted; it stays retracted")


async def test_an_import_with_bad_rows_keeps_no_digest(empty: AsyncEngine, tmp_path: Path) -> None:
    rows = [acled_row(i) for i in range(8)]
    rows[5][acled.COLUMNS.index("fatalities")] = "many"
    path = _csv(tmp_path / "a.csv", acled.COLUMNS, rows)
    first = await import_release(empty, str(path), _release(), skip_bad=True)
    assert (first.recorded, first.bad) == (7, 1)
    again = await import_release(empty, str(path), _release(), skip_bad=True)
    assert (again.unchanged, again.bad) == (7, 1)
    assert "fatalities" in again.errors[0]


async def test_an_import_that_fails_forgets_the_digest_before_it_writes(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 10)
    await import_release(empty, str(path), _release())
    rows = [acled_row(i, release=2) for i in range(10)]
    changed = _csv(tmp_path / "b.csv", acled.COLUMNS, [*rows, ["not", "an", "acled", "row"]])
    with pytest.raises(BadRows):
        await import_release(empty, str(changed), _release())
    async with empty.connect() as conn:
        kept = await conn.scalar(text("SELECT count(digest) FROM dataset_releases"))
    assert kept == 0  # whatever that import did, the first file's digest no longer answers
    report = await import_release(empty, str(path), _release())
    assert (report.rows, report.unchanged) == (10, 10)


async def test_a_writer_in_flight_at_the_end_of_an_import_keeps_its_digest_from_answering(
    empty: AsyncEngine, empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write begun before the import ended and committed after it has a transaction id
    below any id taken then: the import must keep no digest it could slip under."""
    monkeypatch.setattr(ordering, "SETTLE_SECONDS", 0.3)
    path = write_file(tmp_path / "a.csv", "acled", 10)
    async with _open_transaction(empty_url) as other:
        await other.execute("SELECT pg_current_xact_id()")  # it holds an id from now on
        await import_release(empty, str(path), _release())
        await other.execute(
            "INSERT INTO events (stream_type, stream_id, version, type, data, timeline) "
            "VALUES ('assertion', 'late', 1, 'AssertionRecorded', '{}', $1)",
            SLUG,
        )
    assert await same_release(empty, _release(), _digest(path)) is None
    again = write_file(tmp_path / "b.csv", "acled", 10)  # the same bytes: now it may answer
    await import_release(empty, str(again), _release())
    assert await same_release(empty, _release(), _digest(again)) is not None


async def test_a_newer_release_written_in_flight_below_the_mark_still_orders_releases(
    empty: AsyncEngine, empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write of a newer release's event (an NDJSON import, say) given its position before
    an import ended and committed after: the next import must still see that release."""
    monkeypatch.setattr(ordering, "SETTLE_SECONDS", 0.3)
    path = write_file(tmp_path / "a.csv", "acled", 5)
    async with _open_transaction(empty_url) as other:
        await other.execute(  # its position is below every one the import takes
            "INSERT INTO events (stream_type, stream_id, version, type, data, timeline, "
            "reported_at) VALUES ('assertion', 'late', 1, 'AssertionRecorded', "
            """'{"dataset_row": {"dataset": "acled"}}', $1, '2024-06-30T00:00:00Z')""",
            SLUG,
        )
        await import_release(empty, str(path), _release(day=date(2024, 4, 1)))
    with pytest.raises(ValueError, match="older than the ACLED release of 2024-06-30"):
        await import_release(empty, str(path), _release())


async def test_an_older_release_with_the_same_bytes_is_still_refused(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 5)
    await import_release(empty, str(path), _release())
    with pytest.raises(ValueError, match="older than"):
        await import_release(empty, str(path), _release(day=date(2024, 4, 1)))


async def test_a_full_ucdp_release_again_leaves_what_it_retracted_done(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    """A full release retracts the rows it no longer has: the same bytes again write none."""
    first = write_file(tmp_path / "ged-1.csv", "ucdp-ged", 12)
    later = write_file(tmp_path / "ged-2.csv", "ucdp-ged", 12, release=2, skip=[3, 8])
    await import_release(empty, str(first), _ged(date(2024, 6, 1)))
    taken = await import_release(empty, str(later), _ged(date(2024, 7, 1)))
    assert (taken.rows, taken.retracted) == (10, 2)
    events = await _event_count(empty)
    await _break_every_shortcut_but_the_digest(empty)
    again = await import_release(empty, str(later), _ged(date(2024, 7, 1)))
    assert again == ReleaseReport(rows=10, unchanged=10)
    assert await _event_count(empty) == events


def _ged(day: date) -> Release:
    return Release(codebook=ucdp.CODEBOOK, timeline="ged-digest", released=day)
