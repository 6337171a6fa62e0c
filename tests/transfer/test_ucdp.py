"""UCDP GED releases: the sample maps as written out by hand; a full release retracts what left."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.transfer.generate import write_file
from timeline.projections.assertions import get_assertion
from timeline.projections.temporal import Temporal
from timeline.transfer import ucdp
from timeline.transfer.dataset import assertion_id, source_id
from timeline.transfer.release import BadRows, Release, import_release

DATA = Path(__file__).parents[1] / "data"
SAMPLE = DATA / "ucdp-ged-sample.csv"
NEXT = DATA / "ucdp-ged-sample-2025-06.csv"
EXPECTED = json.loads((DATA / "ucdp-ged-sample.expected.json").read_text())["assertions"]
SLUG = "ged-sample"
FIRST, SECOND = date(2024, 6, 1), date(2025, 6, 1)


def _release(day: date) -> Release:
    return Release(codebook=ucdp.CODEBOOK, timeline=SLUG, released=day)


async def _view(engine: AsyncEngine, row_id: str, known_at: date | None = None) -> Any:
    at = None if known_at is None else datetime.combine(known_at, datetime.min.time(), UTC)
    async with engine.connect() as conn:
        return await get_assertion(
            conn, assertion_id("ucdp-ged", SLUG, row_id), Temporal(known_at=at)
        )


async def test_the_sample_maps_to_the_assertions_written_out_by_hand(empty: AsyncEngine) -> None:
    report = await import_release(empty, str(SAMPLE), _release(FIRST))
    assert (report.rows, report.recorded, report.bad) == (4, 4, 0)
    for expected in EXPECTED:
        got = msgspec.to_builtins(await _view(empty, expected["row_id"]))
        for field in ("occurred", "kind", "summary", "place", "actors", "quantities"):
            assert got[field] == expected[field], (expected["row_id"], field)
        assert [c["source_id"] for c in got["citations"]] == [
            source_id(n) for n in expected["sources"]
        ]
        assert got["dataset_row"]["row_id"] == expected["row_id"]
    kept = (await _view(empty, "360003")).dataset_row.columns
    assert kept["date_prec"] == "4"
    assert kept["source_headline"] == "Report, with\na line break"
    assert kept["relid"] == "AZE-2020-1-3"


async def test_a_full_release_revises_changed_rows_and_retracts_rows_it_no_longer_has(
    empty: AsyncEngine,
) -> None:
    await import_release(empty, str(SAMPLE), _release(FIRST))
    report = await import_release(empty, str(NEXT), _release(SECOND))
    assert (report.recorded, report.revised, report.unchanged, report.retracted) == (1, 1, 2, 1)
    revised = await _view(empty, "360001")
    assert (revised.quantities[0].best, revised.quantities[0].high) == (28, 33)
    before = await _view(empty, "360001", known_at=date(2025, 5, 31))
    assert (before.quantities[0].best, before.quantities[0].high) == (26, 31)
    gone = await _view(empty, "360003")
    assert gone.status == "retracted"
    assert (await _view(empty, "360003", known_at=date(2025, 5, 31))).status == "active"
    assert await _view(empty, "360005", known_at=date(2025, 5, 31)) is None
    assert (await _view(empty, "360005")).quantities[0].best == 13


async def test_a_bad_ged_row_is_named_by_line_and_column(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "ged.csv", "ucdp-ged", 10)
    path.write_bytes(path.read_bytes().replace(b"\n300004,", b"\n300004x,", 1))
    with pytest.raises(BadRows, match=r"line \d+, column 1 \(id\): '300004x' is not a GED id"):
        await import_release(empty, str(path), _release(FIRST))


async def test_a_generated_ged_file_imports_whole(empty: AsyncEngine, tmp_path: Path) -> None:
    path = write_file(tmp_path / "ged.csv", "ucdp-ged", 300)
    report = await import_release(empty, str(path), _release(FIRST))
    assert (report.recorded, report.bad) == (300, 0)


async def test_a_partial_release_retracts_nothing_it_leaves_out(empty: AsyncEngine) -> None:
    await import_release(empty, str(SAMPLE), _release(FIRST))
    candidate = Release(codebook=ucdp.CODEBOOK, timeline=SLUG, released=SECOND, partial=True)
    report = await import_release(empty, str(NEXT), candidate)
    assert (report.recorded, report.revised, report.retracted) == (1, 1, 0)
    assert (await _view(empty, "360003")).status == "active"
