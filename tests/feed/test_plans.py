"""The feed's statements walk an index at any store size: their plans, on a store of many events.

A behaviour test without timing: EXPLAIN (FORMAT JSON) on a table big enough,
and ANALYZEd, that a sequential scan would be chosen if the statement allowed
it. Each plan must read events through an index, with no Seq Scan and no Sort
of events, both as a one-off (custom) plan and as the generic plan a prepared
statement switches to after a few runs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from tests.pg import scratch_database
from timeline.feed.shape import live_columns
from timeline.migrate import migrate
from timeline.store.db import asyncpg_dsn
from timeline.store.feed import FEED_BEYOND, FEED_END, FEED_END_AND_HELD, _feed_rows_sql

EVENTS = 60_000


@pytest.fixture(scope="module")
def big_store_url(postgres_server: str) -> Iterator[str]:
    # Its own database: events are immutable, so the rows go with the database.
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
async def big_store(big_store_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(big_store_url))
    if await conn.fetchval("SELECT count(*) FROM events") == 0:
        # Settled transaction ids, 200 events each, all below this one.
        top = int(await conn.fetchval("SELECT pg_current_xact_id()::text"))
        await conn.execute(
            "INSERT INTO events (tx_id, stream_type, stream_id, version, type, data, timeline) "
            "SELECT (3 + (g / 200) % ($2::bigint - 4))::text::xid8, 'timeline', 's' || (g / 10), "
            "g % 10 + 1, 'TimelineRetitled', '{}'::jsonb, 'tl' || (g % 20) "
            "FROM generate_series(1, $1::bigint) AS g",
            EVENTS,
            top,
        )
        await conn.execute("ANALYZE events")
    yield conn
    await conn.close()


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def plan_of(
    conn: asyncpg.Connection, sql: str, args: tuple[Any, ...], mode: str
) -> list[dict[str, Any]]:
    """The plan's nodes for `sql` run with `args`, as PostgreSQL's plan cache would plan it."""
    await conn.execute(f"SET plan_cache_mode = {mode}")
    await conn.execute(f"PREPARE feed_statement AS {sql}")
    literals = ", ".join(
        "'" + str(a).replace("'", "''") + "'" if isinstance(a, str) else str(a) for a in args
    )
    execute = f"EXECUTE feed_statement({literals})" if args else "EXECUTE feed_statement"
    text = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {execute}")
    await conn.execute("DEALLOCATE feed_statement")
    await conn.execute("RESET plan_cache_mode")
    return list(nodes(json.loads(text)[0]["Plan"]))


def reads_events_by_index(plan: list[dict[str, Any]], *, in_order: bool = True) -> None:
    """Every read of events goes through an index; with `in_order`, one that gives the order."""
    on_events = [n for n in plan if n.get("Relation Name") == "events"]
    assert on_events, plan
    kinds = [n["Node Type"] for n in on_events]
    if in_order:
        assert all(k in ("Index Scan", "Index Only Scan") for k in kinds), kinds
        assert not any(n["Node Type"] == "Sort" for n in plan), "the order comes from the index"
    else:
        assert "Seq Scan" not in kinds, kinds


MODES = ["force_custom_plan", "force_generic_plan"]


@pytest.mark.parametrize("mode", MODES)
async def test_the_end_of_the_feed_is_one_step_down_an_index(
    big_store: asyncpg.Connection, mode: str
) -> None:
    reads_events_by_index(await plan_of(big_store, FEED_END, (), mode))
    reads_events_by_index(await plan_of(big_store, FEED_END_AND_HELD, (), mode))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
async def test_asking_for_events_past_a_cursor_walks_the_index_from_it(
    big_store: asyncpg.Connection, mode: str, where: str
) -> None:
    tx = {"start": 0, "middle": 3 + EVENTS // 400, "end": 1 << 40}[where]
    reads_events_by_index(await plan_of(big_store, FEED_BEYOND, (str(tx), 0), mode))


@pytest.mark.parametrize("mode", MODES)
async def test_a_page_of_the_feed_walks_the_index_from_its_cursor(
    big_store: asyncpg.Connection, mode: str
) -> None:
    store = str(await big_store.fetchval("SELECT store_id::text FROM store_meta"))
    plain = _feed_rows_sql(False, False, False, False, live_columns(store))
    reads_events_by_index(await plan_of(big_store, plain, ("0", 0, 1000), mode))
    middle = str(3 + EVENTS // 400)
    reads_events_by_index(await plan_of(big_store, plain, (middle, 0, 1000), mode))
    by_timeline = _feed_rows_sql(False, False, False, True, live_columns(store))
    # A timeline of a few thousand events may be read by a bitmap and sorted; never scanned.
    reads_events_by_index(
        await plan_of(big_store, by_timeline, ("0", 0, 1000, "tl3"), mode), in_order=False
    )
