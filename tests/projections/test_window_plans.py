"""The plans of timeline pages on a long timeline: what a page reads is bounded by the page.

A timeline of 4,000 assertions (one a day from 2000 on, a few spanning years)
is written straight into the projection tables of a database of this module's
own, and VACUUM ANALYZEd; each page runs
under EXPLAIN (ANALYZE, FORMAT JSON) and the rows its scans of the projection
tables touch are counted: returned, removed by a filter or by a recheck. Before
migration 0006 a page from 2008 on walked the ~2,900 assertions that ended
before it; a rare kind, status or actor walked the whole timeline.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.pg import scratch_database
from tests.projections.raw_page import raw_page
from timeline.migrate import migrate
from timeline.projections import indexes
from timeline.projections.temporal import Temporal, TimelineFilters
from timeline.projections.timelines import get_timeline_json
from timeline.store.db import create_engine

SLUG = "long"
ROWS = 4000
LIMIT = 20
FROM = date(2008, 1, 1)  # 2,922 assertions start and end before it
KNOWN = datetime(2020, 6, 1, tzinfo=UTC)  # between the two versions of each assertion

_STATE = (
    "timeline, occurred_start, occurred_end, kind, status, actors, place_name, claimant, "
    "cited_sources, search_text, state, last_position, recorded_at, view"
)
_ROW = (
    ":slug, date '2000-01-01' + i, "
    "CASE WHEN i % 200 = 0 THEN date '2000-01-01' + i + 2000 ELSE date '2000-01-01' + i END, "
    "CASE WHEN i % 1000 = 7 THEN 'rare' ELSE 'common' END, "
    "CASE WHEN i % 997 = 5 THEN 'retracted' ELSE 'active' END, "
    "CASE WHEN i % 991 = 3 THEN ARRAY['Iran'] ELSE ARRAY['Armenia', 'Azerbaijan'] END, "
    "CASE WHEN i % 983 = 2 THEN 'Lachin corridor' ELSE 'Stepanakert' END, NULL, '{}', "
    "CASE WHEN i % 977 = 1 THEN 'a helicopter down' ELSE 'shelling of the town' END, "
    "'{}'::jsonb, i, now(), '{\"n\":' || i || '}'"
)


async def _fill(conn: AsyncConnection, slug: str, rows: int) -> None:
    params = {"slug": slug, "rows": rows, "known": KNOWN}
    # the timeline's own event, which a recorded_at page folds its title from
    await conn.execute(
        text(
            "INSERT INTO events (stream_type, stream_id, version, type, data, timeline) "
            "VALUES ('timeline', :slug, 1, 'TimelineOpened', "
            "jsonb_build_object('slug', CAST(:slug AS text), 'title', 'Long'), :slug)"
        ),
        params,
    )
    await conn.execute(
        text("INSERT INTO projections.timelines VALUES (:slug, 'Long', '', '', 1, now(), 0)"),
        params,
    )
    await conn.execute(
        text(
            f"INSERT INTO projections.assertions (assertion_id, {_STATE}) "
            f"SELECT :slug || '-' || lpad(i::text, 5, '0'), {_ROW} "
            "FROM generate_series(1, :rows) i"
        ),
        params,
    )
    # Two versions each: the first known until KNOWN + i seconds, the second from then.
    await conn.execute(
        text(
            "INSERT INTO projections.revisions (assertion_id, version, recorded_from, recorded_to, "
            "known_from, known_to, known_cut_at, position, event_type, schema_version, "
            f"event_data, reported_at, event_recorded_at, changes, reason, citations, {_STATE}) "
            "SELECT :slug || '-' || lpad(i::text, 5, '0'), v, now(), NULL, "
            "CASE WHEN v = 1 THEN timestamptz '2020-01-01Z' "
            "ELSE CAST(:known AS timestamptz) + make_interval(secs => i) END, "
            "CASE WHEN v = 1 THEN CAST(:known AS timestamptz) + make_interval(secs => i) END, "
            "CASE WHEN v = 1 THEN now() END, 2 * i + v, 'AssertionRecorded', 1, '{}', now(), "
            f"now(), '[]', NULL, '[]', {_ROW} "
            "FROM generate_series(1, :rows) i, generate_series(1, 2) v"
        ),
        params,
    )


def _touched(plan: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """(node, rows) for every scan of a projection table's rows in the plan tree.

    A bitmap index scan is left out: its count includes index entries of rows
    that other tests' rolled-back fixtures left dead; the heap scan above it
    counts the rows it read.
    """
    relation = plan.get("Relation Name")
    if plan["Node Type"] == "Seq Scan" and relation in ("assertions", "revisions"):
        yield f"Seq Scan on {relation}", 10**9
    if relation in ("assertions", "revisions"):
        rows = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        rows += plan.get("Rows Removed by Index Recheck", 0)
        yield f"{plan['Node Type']} on {relation}", rows * plan.get("Actual Loops", 1)
    for child in plan.get("Plans", []):
        yield from _touched(child)


async def _explained(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal,
    filters: TimelineFilters,
    cursor: str | None = None,
) -> tuple[list[Any], int, str | None]:
    """The page's assertions, the rows its plan touched, and its next cursor."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    sync = conn.sync_connection
    assert sync is not None
    event.listen(sync, "before_cursor_execute", record)
    try:
        page = await get_timeline_json(conn, slug, temporal, filters, cursor=cursor, limit=LIMIT)
    finally:
        event.remove(sync, "before_cursor_execute", record)
    ((statement, parameters),) = sent
    explained = await conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
    )
    plan = explained.scalar_one()
    plan = msgspec.json.decode(plan) if isinstance(plan, str) else plan
    touched = list(_touched(plan[0]["Plan"]))
    served = raw_page(page)
    return msgspec.json.decode(served.assertions), sum(n for _, n in touched), served.next_cursor


WINDOWS = {
    "occurred_from": Temporal(occurred_from=FROM),
    "occurred_from and _to": Temporal(occurred_from=FROM, occurred_to=date(2008, 3, 1)),
    "known_at": Temporal(known_at=KNOWN, occurred_from=FROM),
    "recorded_at": Temporal(recorded_at=datetime(9000, 1, 1, tzinfo=UTC), occurred_from=FROM),
    "recorded_at and known_at": Temporal(
        known_at=KNOWN, recorded_at=datetime(9000, 1, 1, tzinfo=UTC), occurred_from=FROM
    ),
    "as_of": Temporal.of(as_of=datetime(2021, 1, 1, tzinfo=UTC), occurred_from=FROM),
}
RARE = {
    "kind": TimelineFilters(kind=("rare", "absent", "rare")),
    "status": TimelineFilters(status=("retracted",)),
    "actor": TimelineFilters(actor="IRAN"),
    "q": TimelineFilters(q="helicopter"),
}


@pytest.fixture(scope="module")
def plans_url(postgres_server: str) -> Iterator[str]:
    """A database of this module's own: the long timeline is written once, committed."""
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
async def plans_engine(plans_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(plans_url, pool_size=2)
    async with engine.begin() as conn:
        await _fill(conn, SLUG, ROWS)
        await _fill(conn, "short", 100)  # another timeline in the store, shaped alike
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))  # as autovacuum would
    yield engine
    await engine.dispose()


@pytest.fixture
async def conn(plans_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with plans_engine.connect() as connection:
        yield connection


@pytest.mark.parametrize("name", WINDOWS)
async def test_a_narrow_window_reads_the_page_not_the_timeline_before_it(
    conn: AsyncConnection, name: str
) -> None:
    temporal = WINDOWS[name]
    views, touched, cursor = await _explained(conn, SLUG, temporal, TimelineFilters())
    # the 20 assertions of the long ones still open on 2008-01-01 and the first
    # that start on it, in page order
    assert len(views) == LIMIT
    assert cursor is not None
    assert touched <= 8 * LIMIT, (name, touched)

    views, touched, _ = await _explained(conn, SLUG, temporal, TimelineFilters(), cursor)
    assert len(views) == LIMIT
    assert touched <= 8 * LIMIT, (name, "second page", touched)


@pytest.mark.parametrize("name", RARE)
@pytest.mark.parametrize("window", ["none", "occurred_from", "known_at"])
async def test_a_rare_filter_reads_its_matches_not_the_timeline(
    conn: AsyncConnection, name: str, window: str
) -> None:
    temporal = Temporal() if window == "none" else WINDOWS[window]
    views, touched, _ = await _explained(conn, SLUG, temporal, RARE[name])
    assert 1 <= len(views) <= 5
    assert touched <= 8 * LIMIT, (name, window, touched)


async def test_a_rare_place_reads_its_matches_where_trigrams_index_it(
    conn: AsyncConnection,
) -> None:
    indexed = await conn.scalar(
        text("SELECT to_regclass('projections.assertions_place_trgm_idx') IS NOT NULL")
    )
    if not indexed:
        pytest.skip("no pg_trgm on this server: place= walks the page in order")
    views, touched, _ = await _explained(conn, SLUG, Temporal(), TimelineFilters(place="lachin"))
    assert len(views) == 5
    assert touched <= 8 * LIMIT, touched


def test_the_migration_indexes_span_classes_as_the_reads_compute_them() -> None:
    path = next(Path(__file__).parents[2].glob("src/timeline/migrations/versions/*_0006_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0006", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert indexes.span_class() == migration.SPAN_CLASS


async def test_the_migrated_schema_has_every_read_index(conn: AsyncConnection) -> None:
    names = set(
        (
            await conn.scalars(
                text("SELECT indexname FROM pg_indexes WHERE schemaname = 'projections'")
            )
        ).all()
    )
    assert {index.name for index in indexes.DEFERRED_INDEXES} <= names
