"""The set-based release path: concurrent first imports, the row hash, the staging tables.

A first import reads no streams and a re-import trusts a row's stored hash, so
these tests check what those shortcuts must not lose: two imports of the same
release at once write each row once (the bulk write's version check and the
unique constraint catch the loser, which reads and decides again); a hash
never hides a change another writer made to the assertion; the hash ignores
the columns' order and sees every cell.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.transfer.generate import acled_row, write_csv, write_file
from tests.transfer.test_acled import _line_of as _line
from timeline.commands.handlers import change_assertion
from timeline.commands.writer import WriteContext, Writer
from timeline.domain.commands import RetractAssertion
from timeline.transfer import acled, settled
from timeline.transfer.csvrows import Row
from timeline.transfer.dataset import assertion_id
from timeline.transfer.release import BadRows, Release, _prepare, import_release
from timeline.transfer.settled import csv_chunks, row_hash

DAY = date(2024, 4, 30)
SLUG = "acled-bulk"


def _release(slug: str = SLUG) -> Release:
    return Release(codebook=acled.CODEBOOK, timeline=slug, released=DAY)


async def _events_per_stream(engine: AsyncEngine, slug: str = SLUG) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT count(*) FROM events WHERE timeline = :slug AND stream_type = 'assertion' "
                "GROUP BY stream_id"
            ),
            {"slug": slug},
        )
        return [int(n) for (n,) in rows]


async def test_two_first_imports_at_once_write_each_row_once(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 240)
    names = {n for i in range(240) for n in acled.parse_row(_row(acled_row(i))).sources}
    ctx = WriteContext(actor="test")
    await _prepare(Writer(empty), _release(), names, ctx)  # the timeline and its sources
    first, second = await asyncio.gather(
        import_release(empty, str(path), _release(), batch=40),
        import_release(empty, str(path), _release(), batch=40),
    )
    assert await _events_per_stream(empty) == [1] * 240
    assert first.recorded + second.recorded == 240
    assert first.unchanged + second.unchanged == 240
    assert (first.revised, second.revised, first.bad, second.bad) == (0, 0, 0, 0)


async def test_a_stored_hash_never_hides_what_another_writer_did(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 30)
    await import_release(empty, str(path), _release())
    row_id = acled_row(7)[acled.COLUMNS.index("event_id_cnty")]
    cmd = RetractAssertion(
        assertion_id=assertion_id("acled", SLUG, row_id),
        reason="a reader found it doubled",
        reported_at=datetime(2024, 4, 30, 12, tzinfo=UTC),
    )
    await change_assertion(Writer(empty), cmd)
    report = await import_release(empty, str(path), _release())
    assert (report.unchanged, report.skipped, report.recorded, report.revised) == (29, 1, 0, 0)
    assert report.notes == [
        f"line {_line(path, 7)}: row {row_id} was retracted; it stays retracted"
    ]


async def test_a_reimport_of_an_unchanged_file_reads_no_state(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    """Every row is settled by its hash: breaking the states would not change the answer."""
    path = write_file(tmp_path / "a.csv", "acled", 50)
    await import_release(empty, str(path), _release())
    async with empty.begin() as conn:
        hashes = await conn.scalar(text("SELECT count(*) FROM dataset_rows"))
        assert hashes == 50
        # a state that no longer decodes: only a re-import that reads none can pass
        await conn.execute(text("""UPDATE projections.assertions SET state = '{"x": 1}'"""))
    report = await import_release(empty, str(path), _release())
    assert (report.unchanged, report.recorded, report.revised) == (50, 0, 0)
    moved = _columns_reversed(path, tmp_path / "moved.csv")  # the same rows
    report = await import_release(empty, str(moved), _release())
    assert (report.unchanged, report.recorded, report.revised) == (50, 0, 0)


def _csv(path: Path, header: Sequence[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        write_csv(f, header, rows)


def _columns_reversed(path: Path, moved: Path) -> Path:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    order = sorted(range(len(rows[0])), key=lambda i: rows[0][i], reverse=True)
    with open(moved, "w", encoding="utf-8", newline="") as f:
        write_csv(f, [rows[0][i] for i in order], [[r[i] for i in order] for r in rows[1:]])
    return moved


def _row(cells: list[str], header: tuple[str, ...] = acled.COLUMNS) -> Row:
    return Row(2, dict(zip(header, cells, strict=True)), header)


# A cell is decoded UTF-8 without NUL (csvrows refuses NUL): no surrogates either.
_char = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
cells = st.lists(st.text(_char), min_size=3, max_size=3)


@settings(max_examples=200, deadline=None)
@given(cells, cells, st.permutations(range(3)))
def test_the_row_hash_follows_every_cell_and_ignores_the_column_order(
    a: list[str], b: list[str], order: list[int]
) -> None:
    header = ("x", "y", "z")
    first = row_hash(acled.CODEBOOK, _row(a, header))
    moved = tuple(header[i] for i in order)
    assert row_hash(acled.CODEBOOK, _row([a[i] for i in order], moved)) == first
    assert (row_hash(acled.CODEBOOK, _row(b, header)) == first) == (a == b)


async def test_a_reimport_with_nothing_new_still_retracts_what_the_deletions_file_lists(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "a.csv", "acled", 20)
    await import_release(empty, str(path), _release())
    gone = acled_row(4)[acled.COLUMNS.index("event_id_cnty")]
    deletions = tmp_path / "deleted.csv"
    _csv(deletions, ("event_id_cnty", "deleted_timestamp"), [[gone, "1714000000"], ["XYZ9", "1"]])
    report = await import_release(empty, str(path), _release(), deletions=str(deletions))
    assert (report.rows, report.unchanged, report.retracted) == (20, 20, 0)
    never = "row XYZ9: deleted by the dataset, but this timeline never had it"
    assert report.notes == [f"row {gone}: listed as deleted and in the release; kept", never]
    kept = tmp_path / "kept.csv"  # the release without that row: now it is retracted
    write_file(kept, "acled", 20, skip=[4])
    report = await import_release(empty, str(kept), _release(), deletions=str(deletions))
    assert (report.rows, report.unchanged, report.retracted) == (19, 19, 1)
    assert report.notes == [never]


async def test_a_row_repeated_whole_in_a_reimport_is_still_a_bad_row(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    rows = [acled_row(i) for i in range(6)]
    path = tmp_path / "a.csv"
    _csv(path, acled.COLUMNS, rows)
    await import_release(empty, str(path), _release())
    _csv(path, acled.COLUMNS, [*rows, rows[2]])
    where = rf"line {_line(path, 6)}, column 1 \(event_id_cnty\): the row id appears"
    with pytest.raises(BadRows, match=where):
        await import_release(empty, str(path), _release())
    _csv(path, acled.COLUMNS, [*rows[:3], [], *rows[3:], rows[2]])  # a blank line: COPY
    # refuses it where csvrows skips it, so this import goes row by row
    report = await import_release(empty, str(path), _release(), skip_bad=True)
    assert (report.rows, report.unchanged, report.bad) == (7, 6, 1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.text(_char, max_size=12), min_size=3, max_size=3), max_size=20),
    st.integers(min_value=1, max_value=64),
    st.booleans(),
)
def test_the_pieces_a_reimport_copies_end_where_records_do(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], size: int, crlf: bool
) -> None:
    """Cells with quotes, commas and newlines: each piece reads as whole records."""
    path = tmp_path_factory.mktemp("chunks") / "f.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n" if crlf else "\n").writerows([["a", "b", "c"], *rows])
    pieces = list(csv_chunks(str(path), size))
    assert b"".join(pieces) == path.read_bytes()
    read = [r for p in pieces for r in csv.reader(io.StringIO(p.decode(), newline=""))]
    whole = list(csv.reader(io.StringIO(path.read_bytes().decode(), newline="")))
    assert read == whole
    if crlf:  # with "\n" alone, csv leaves a bare "\r" unquoted, which ends a record too
        assert whole == [["a", "b", "c"], *rows]


async def test_a_reimport_in_many_short_transactions_finds_every_row_settled(
    empty: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file COPY'd a few KB at a time and staged a few rows at a time, each committed
    (so the live feed's horizon is never held for the whole file): the same answer."""
    path = write_file(tmp_path / "a.csv", "acled", 60)
    await import_release(empty, str(path), _release())
    async with empty.begin() as conn:  # only the settled path, reading no state, passes now
        await conn.execute(text("""UPDATE projections.assertions SET state = '{"x": 1}'"""))
    monkeypatch.setattr(settled, "COPY_BYTES", 4096)
    monkeypatch.setattr(settled, "STAGE_ROWS", 7)
    pieces = list(settled.csv_chunks(str(path)))
    assert len(pieces) > 3
    report = await import_release(empty, str(path), _release())
    assert (report.rows, report.unchanged, report.recorded, report.revised) == (60, 60, 0, 0)
    second = write_file(tmp_path / "b.csv", "acled", 60, skip=[5])  # row 5 left out
    report = await import_release(empty, str(second), _release())
    assert report.unchanged == 59
