"""Property: releases imported in date order show, on each release's date, that release.

Random histories of a few rows over several releases: a row's toll and notes
change or not, ACLED deletes it or lists it again. On every release date,
`known_at` gives that release's row (absent before its first release,
retracted from the release that deleted it on, since a retracted assertion
stays retracted), and an older release after a newer one is refused.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.transfer.generate import acled_row, write_csv
from timeline.projections.assertions import get_assertion
from timeline.projections.temporal import Temporal
from timeline.transfer import acled
from timeline.transfer.dataset import assertion_id
from timeline.transfer.release import Release, ReleaseOutOfOrder, import_release

ROWS = 3
FATALITIES = acled.COLUMNS.index("fatalities")
NOTES = acled.COLUMNS.index("notes")
BASE = date(2024, 1, 1)
_runs = itertools.count()

# A row in one release: absent, deleted, or present with a toll and maybe rewritten notes.
cell = st.one_of(st.just("absent"), st.just("deleted"), st.tuples(st.integers(0, 3), st.booleans()))
releases = st.lists(st.lists(cell, min_size=ROWS, max_size=ROWS), min_size=2, max_size=4)


def _write(tmp: Path, name: str, release: list[object]) -> tuple[Path, Path]:
    rows, deleted = [], []
    for i, state in enumerate(release):
        if state == "deleted":
            deleted.append(f"AZE{i + 1}")
        elif isinstance(state, tuple):
            row = acled_row(i)
            row[FATALITIES] = str(state[0])
            if state[1]:
                row[NOTES] = f"Rewritten notes of row {i}."
            rows.append(row)
    path, deletions = tmp / f"{name}.csv", tmp / f"{name}-deleted.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        write_csv(f, acled.COLUMNS, rows)
    deletions.write_text("event_id_cnty,deleted_timestamp\n" + "".join(f"{d},0\n" for d in deleted))
    return path, deletions


def _expected(history: list[list[object]], i: int, k: int) -> object:
    """What release k's date shows of row i: None (absent), 'retracted', or (toll, rewritten)."""
    shown: object = None
    for release in history[: k + 1]:
        state = release[i]
        if shown == "retracted":
            continue  # a retracted assertion stays retracted
        if state == "deleted":
            shown = "retracted" if shown is not None else None
        elif isinstance(state, tuple):
            shown = state
    return shown


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=releases)
async def test_each_release_date_shows_that_release(
    empty: AsyncEngine, tmp_path: Path, history: list[list[object]]
) -> None:
    run = next(_runs)
    slug = f"order-{run}"
    days = [BASE + timedelta(days=30 * k) for k in range(len(history))]
    for k, release in enumerate(history):
        path, deletions = _write(tmp_path, f"{run}-{k}", release)
        await import_release(
            empty,
            str(path),
            Release(codebook=acled.CODEBOOK, timeline=slug, released=days[k]),
            deletions=str(deletions),
        )
    async with empty.connect() as conn:
        for i in range(ROWS):
            aid = assertion_id("acled", slug, f"AZE{i + 1}")
            for k, day in enumerate(days):
                at = datetime.combine(day, datetime.min.time(), UTC)
                view = await get_assertion(conn, aid, Temporal(known_at=at))
                got: object = None
                if view is not None:
                    got = (
                        "retracted"
                        if view.status == "retracted"
                        else (view.quantities[0].best, view.summary.startswith("Rewritten"))
                    )
                assert got == _expected(history, i, k), (history, i, k)


async def test_an_older_release_after_a_newer_one_is_refused_and_writes_nothing(
    empty: AsyncEngine, tmp_path: Path
) -> None:
    path, _ = _write(tmp_path, "one", [(1, False), (2, False), (3, False)])
    newer = Release(codebook=acled.CODEBOOK, timeline="refused", released=date(2024, 5, 14))
    await import_release(empty, str(path), newer)
    changed, _ = _write(tmp_path, "two", [(5, True), (2, False), (3, False)])
    async with empty.connect() as conn:
        before = await conn.scalar(text("SELECT count(*) FROM events"))
    older = Release(codebook=acled.CODEBOOK, timeline="refused", released=date(2024, 4, 30))
    with pytest.raises(ReleaseOutOfOrder, match="ACLED release 2024-04-30 is older than"):
        await import_release(empty, str(changed), older)
    async with empty.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM events")) == before
    # the same date again is a corrected file of that release, and goes in
    report = await import_release(empty, str(changed), newer)
    assert report.revised == 1
