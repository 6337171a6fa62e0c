"""ACLED releases as knowledge: the sample maps as written out, releases revise and retract.

The sample (tests/data/acled-sample*.csv) is small and checked by hand against
tests/data/acled-sample.expected.json; the generated files (generate.py)
carry the awkward cases at volume.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.transfer.generate import acled_row, write_csv, write_file
from timeline.cli import main
from timeline.projections.assertions import get_assertion, get_history
from timeline.projections.temporal import Temporal
from timeline.projections.timelines import get_timeline
from timeline.transfer import acled, cli_export
from timeline.transfer.dataset import assertion_id, source_id
from timeline.transfer.dataset_cli import import_dataset
from timeline.transfer.release import BadRows, Release, import_release

DATA = Path(__file__).parents[1] / "data"
SAMPLE = DATA / "acled-sample.csv"
SECOND = DATA / "acled-sample-2024-05-14.csv"
DELETIONS = DATA / "acled-sample-2024-05-14-deletions.csv"
EXPECTED = json.loads((DATA / "acled-sample.expected.json").read_text())["assertions"]
FIRST_DAY, SECOND_DAY = date(2024, 4, 30), date(2024, 5, 14)
SLUG = "acled-sample"


def _release(day: date, slug: str = SLUG) -> Release:
    return Release(codebook=acled.CODEBOOK, timeline=slug, released=day)


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


async def _count(engine: AsyncEngine, slug: str = SLUG) -> int:
    async with engine.connect() as conn:
        q = text("SELECT count(*) FROM events WHERE timeline = :slug AND stream_type = 'assertion'")
        return int(await conn.scalar(q, {"slug": slug}) or 0)


async def _view(engine: AsyncEngine, row_id: str, known_at: datetime | None = None) -> Any:
    async with engine.connect() as conn:
        return await get_assertion(
            conn, assertion_id("acled", SLUG, row_id), Temporal(known_at=known_at)
        )


async def test_the_sample_maps_to_the_assertions_written_out_by_hand(empty: AsyncEngine) -> None:
    report = await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    assert (report.rows, report.recorded, report.bad) == (6, 6, 0)
    for expected in EXPECTED:
        view = await _view(empty, expected["row_id"])
        assert view is not None, expected["row_id"]
        got = json.loads(json.dumps(_plain(view)))
        for field in ("occurred", "kind", "summary", "place", "actors", "quantities"):
            assert got[field] == expected[field], (expected["row_id"], field)
        assert [c["source_id"] for c in got["citations"]] == [
            source_id(n) for n in expected["sources"]
        ]
        assert got["dataset_row"]["dataset"] == "acled"
        assert got["dataset_row"]["row_id"] == expected["row_id"]
        assert got["first_reported_at"].startswith("2024-04-30T00:00:00")
    kept = (await _view(empty, "AZE1002")).dataset_row.columns
    assert kept["interaction"] == "17"
    assert kept["civilian_targeting"] == "Civilian targeting"
    assert (
        kept["source"] == "Armenian Ministry of Defence; Azerbaijani Ministry of Defence; Twitter"
    )


def _plain(view: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(view)


async def test_a_second_release_revises_changed_rows_retracts_deleted_ones_and_leaves_the_rest(
    empty: AsyncEngine,
) -> None:
    await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    before = await _count(empty)
    report = await import_release(
        empty, str(SECOND), _release(SECOND_DAY), deletions=str(DELETIONS)
    )
    assert (report.revised, report.unchanged, report.retracted, report.recorded) == (2, 3, 1, 0)
    assert await _count(empty) == before + 3  # two revisions, one retraction, nothing else
    now = await _view(empty, "AZE1001")
    assert now.quantities[0].best == 14
    assert now.last_reported_at == _at(SECOND_DAY)
    then = await _view(empty, "AZE1001", known_at=_at(date(2024, 5, 1)))
    assert then.quantities[0].best == 12
    assert (await _view(empty, "AZE1004")).status == "retracted"
    assert (await _view(empty, "AZE1004", known_at=_at(date(2024, 5, 13)))).status == "active"
    async with empty.connect() as conn:
        history = await get_history(conn, assertion_id("acled", SLUG, "AZE1001"), Temporal())
    assert history is not None
    revision = history.revisions[-1]
    assert revision.reason == "ACLED release 2024-05-14"
    assert revision.reported_at == _at(SECOND_DAY)
    changed = {c.field for c in revision.changes}
    assert changed == {"summary", "quantities", "dataset_row"}
    quantities = next(c for c in revision.changes if c.field == "quantities")
    assert (quantities.before[0]["best"], quantities.after[0]["best"]) == (12, 14)
    month_then_day = await _view(empty, "AZE1003")
    assert month_then_day.occurred == "2020-10-04"


async def test_reimporting_a_release_writes_nothing(empty: AsyncEngine) -> None:
    await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    before = await _count(empty)
    report = await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    assert (report.unchanged, report.recorded, report.revised) == (6, 0, 0)
    assert await _count(empty) == before


def _file_of(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        write_csv(f, acled.COLUMNS, rows)
    return path


def _bad_file(tmp_path: Path) -> Path:
    rows = [acled_row(i) for i in range(30)]
    rows[3][acled.COLUMNS.index("fatalities")] = "many"
    rows[7][acled.COLUMNS.index("sub_event_type")] = "Armed clash"  # not a Protests sub-event
    rows[7][acled.COLUMNS.index("event_type")] = "Protests"
    rows[12][acled.COLUMNS.index("latitude")] = "95.5"
    rows[20] = rows[20][:-1]  # a field short
    path = tmp_path / "bad.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        write_csv(f, acled.COLUMNS, rows)
    return path


def _line_of(path: Path, row_index: int) -> int:
    """The line a record starts on, counted the way an editor does (notes hold newlines)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == row_index:
                return start
            start = reader.line_num + 1
    raise AssertionError


async def test_bad_rows_are_named_by_line_and_column_and_nothing_is_written(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = _bad_file(tmp_path)
    with pytest.raises(BadRows) as caught:
        await import_release(empty, str(path), _release(FIRST_DAY))
    errors = caught.value.report.errors
    col = acled.COLUMNS.index
    assert errors == [
        f"line {_line_of(path, 3)}, column {col('fatalities') + 1} (fatalities): "
        "'many' is not a whole number",
        f"line {_line_of(path, 7)}, column {col('sub_event_type') + 1} (sub_event_type): "
        "'Armed clash' is not one of Peaceful protest, Protest with intervention, "
        "Excessive force against protesters",
        f"line {_line_of(path, 12)}, column {col('latitude') + 1} (latitude): "
        "95.5 is outside -90..90",
        f"line {_line_of(path, 20)}: 30 fields where the header has 31",
    ]
    assert _line_of(path, 12) > 13  # notes with newlines push records down the file
    assert await _count(empty) == 0


async def test_skip_bad_writes_the_good_rows_and_reports_the_rest(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    report = await import_release(
        empty, str(_bad_file(tmp_path)), _release(FIRST_DAY), skip_bad=True
    )
    assert (report.recorded, report.bad) == (26, 4)
    assert await _count(empty) == 26


async def test_the_cli_reports_bad_rows_without_a_traceback(
    empty_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bad_file(tmp_path)
    status = await import_dataset(
        empty_url,
        str(path),
        fmt="acled",
        timeline=SLUG,
        release="2024-04-30",
        deletions=None,
        skip_bad=False,
    )
    err = capsys.readouterr().err
    assert status == 1
    assert "nothing written (4 bad rows" in err
    assert "column 29 (fatalities): 'many' is not a whole number" in err
    assert "Traceback" not in err


async def test_a_generated_file_with_every_awkward_case_imports_whole(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "acled.csv", "acled", 500)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in path.read_bytes()
    report = await import_release(empty, str(path), _release(FIRST_DAY))
    assert (report.recorded, report.bad) == (500, 0)
    async with empty.connect() as conn:
        page = await get_timeline(conn, SLUG, Temporal(), limit=500)
    assert page is not None
    assert {a.kind for a in page.assertions} >= set(acled.KIND_OF.values())
    assert any(a.place is not None and a.place.lat is None for a in page.assertions)
    assert any("\n" in a.summary for a in page.assertions)
    assert {a.occurred[-1] for a in page.assertions} >= {"~"}


async def test_export_acled_reads_back_the_same_mapped_values(
    empty: AsyncEngine, empty_url: str, tmp_path: Path
) -> None:
    await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    out = tmp_path / "export.csv"
    status = await cli_export(empty_url, fmt="acled", timeline=SLUG, known_at=None, output=str(out))
    assert status == 0
    original = _by_id(SAMPLE)
    exported = _by_id(out)
    assert set(exported) == set(original)
    for row_id, row in original.items():
        back = exported[row_id]
        for column in acled.COLUMNS:
            if column in ("latitude", "longitude") and row[column]:
                assert float(back[column]) == float(row[column]), (row_id, column)
            elif column == "event_date":
                assert date.fromisoformat(back[column]) == _acled_day(row[column])
            else:
                assert back[column] == row[column], (row_id, column)
    # and an export imports again into another timeline as the same values
    again = await import_release(empty, str(out), _release(FIRST_DAY, "acled-again"))
    assert again.recorded == len(original)


def _acled_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return datetime.strptime(raw, "%d %B %Y").date()


def _by_id(path: Path) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {r["event_id_cnty"]: r for r in csv.DictReader(io.StringIO(f.read()))}


async def test_a_row_id_twice_is_a_bad_row_and_skip_bad_writes_the_first(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    rows = [acled_row(i) for i in range(5)]
    twin = list(rows[1])
    twin[acled.COLUMNS.index("fatalities")] = "99"
    rows.append(twin)
    path = _file_of(tmp_path / "twice.csv", rows)
    with pytest.raises(BadRows, match=r"column 1 \(event_id_cnty\): the row id appears earlier"):
        await import_release(empty, str(path), _release(FIRST_DAY))
    report = await import_release(empty, str(path), _release(FIRST_DAY), skip_bad=True)
    assert (report.recorded, report.bad) == (5, 1)
    assert (await _view(empty, "AZE2")).quantities[0].best != 99


async def test_export_leaves_out_deleted_rows_and_follows_the_knowledge_date(
    empty: AsyncEngine, empty_url: str, tmp_path: Path
) -> None:
    await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    await import_release(empty, str(SECOND), _release(SECOND_DAY), deletions=str(DELETIONS))
    now, then = tmp_path / "now.csv", tmp_path / "then.csv"
    for out, known_at in ((now, None), (then, "2024-05-01")):
        status = await cli_export(
            empty_url, fmt="acled", timeline=SLUG, known_at=known_at, output=str(out)
        )
        assert status == 0
    assert "AZE1004" not in _by_id(now)
    assert _by_id(now)["AZE1001"]["fatalities"] == "14"
    assert _by_id(then)["AZE1004"]["fatalities"] == "0"
    assert _by_id(then)["AZE1001"]["fatalities"] == "12"


async def test_a_timeline_slug_the_domain_refuses_is_one_line_and_writes_nothing(
    empty: AsyncEngine, empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = await import_dataset(
        empty_url,
        str(SAMPLE),
        fmt="acled",
        timeline="Not A Slug",
        release="2024-04-30",
        deletions=None,
        skip_bad=False,
    )
    err = capsys.readouterr().err
    assert status == 1
    assert "import refused, nothing written: slug: must be 1-80 lowercase" in err
    assert "Traceback" not in err
    assert await _count(empty, "Not A Slug") == 0


async def test_a_dataset_timeline_moves_through_ndjson_with_its_rows_and_history(
    empty: AsyncEngine, target_url: str
) -> None:
    """Export the log of two releases, import it elsewhere: every check passes, states agree."""
    from timeline.store.db import create_engine
    from timeline.transfer.export import export_log
    from timeline.transfer.importer import import_events

    await import_release(empty, str(SAMPLE), _release(FIRST_DAY))
    await import_release(empty, str(SECOND), _release(SECOND_DAY), deletions=str(DELETIONS))
    log = b"".join([line async for line in export_log(empty, SLUG)])
    elsewhere = create_engine(target_url, pool_size=1)
    try:
        report = await import_events(elsewhere, io.BytesIO(log))
        assert report.written + report.skipped == report.lines
        for row_id in ("AZE1001", "AZE1003", "AZE1004"):
            aid = assertion_id("acled", SLUG, row_id)
            for known_at in (None, _at(date(2024, 5, 1))):
                async with empty.connect() as a, elsewhere.connect() as b:
                    here = await get_assertion(a, aid, Temporal(known_at=known_at))
                    there = await get_assertion(b, aid, Temporal(known_at=known_at))
                assert here is not None
                assert there is not None
                assert (here.dataset_row, here.quantities, here.status, here.summary) == (
                    there.dataset_row,
                    there.quantities,
                    there.status,
                    there.summary,
                )
    finally:
        await elsewhere.dispose()


def test_timeline_import_with_a_dataset_format_imports_the_release(
    empty_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIMELINE_DATABASE_URL", empty_url)
    argv = ["import", "--format", "acled", str(SAMPLE), "--timeline", SLUG]
    assert main([*argv, "--release", "2024-04-30"]) == 0
    err = capsys.readouterr().err
    assert f"into {SLUG}: 6 rows, 6 recorded" in err
    assert main([*argv]) == 2  # no --release: refused before anything is read
