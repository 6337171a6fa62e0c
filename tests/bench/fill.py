"""Bulk fills by SQL: timelines of 100,000 assertions and stores of millions of events in seconds.

- `template` writes a timeline of n assertions with realistic dates to the log by
  one INSERT ... SELECT (mostly one-day assertions spread over three years, 2% a
  month, 1% an interval of months or years) and projects it with a real rebuild,
  so its projection rows are exactly what the code makes.
- `copy_assertions` copies a template's assertions into another timeline any
  number of times: the events by SQL (same data, new ids), and the projection
  rows of every per-assertion table copied from the template's with the new ids
  and the new events' positions. What a rebuild would make, except that a copied
  view keeps the template's position in its body (the cost of serving it is the
  same).
- `grow_log` appends millions of assertion events of other timelines straight
  into `events`, in batches, with their TimelineOpened events and timeline rows:
  a log that big with only part of it projected (projecting 10 million events
  takes hours), which is what a write or a read of another timeline meets.
- `fill_keys` stores a day's worth of idempotency keys, as a busy store holds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.bench import entry

# A day's spread of valid time: 3 years of days, hit in a scattered order.
DAYS = 1096
_DAY = "(date '2018-01-01' + ((n::bigint * 7919) % 1096)::int)"
_MONTH = f"date_trunc('month', {_DAY})"
_OCCURRED = (
    f"CASE WHEN n % 100 = 0 THEN to_char({_MONTH}, 'YYYY-MM') || '/' || "
    f"to_char({_MONTH} + make_interval(months => 3 + (n / 100) % 22), 'YYYY-MM') "
    f"WHEN n % 50 = 0 THEN to_char({_MONTH}, 'YYYY-MM') "
    f"ELSE to_char({_DAY}, 'YYYY-MM-DD') END"
)
_REPORTED = f"({_DAY} + interval '18 hours' + make_interval(secs => n % 3600))"


def _assertion_data(id_expr: str, slug_expr: str) -> str:
    """The JSON of an AssertionRecorded with realistic fields (as store.codec encodes it)."""
    return (
        f"jsonb_build_object('assertion_id', {id_expr}, 'timeline', {slug_expr}, "
        f"'occurred', {_OCCURRED}, "
        "'kind', (ARRAY['shelling','armed_clash','drone_strike','casualties','statement'])"
        "[1 + n % 5], "
        "'summary', 'Stepanakert shelled overnight, residents in shelters, report ' || n, "
        "'place', jsonb_build_object('name', (ARRAY['Stepanakert','Shusha','Martuni',"
        "'Hadrut'])[1 + n % 4], 'lat', 39.8, 'lon', 46.75, 'precision', 'town'), "
        "'actors', jsonb_build_array('Azerbaijan', 'Armenia'), 'quantities', '[]'::jsonb, "
        "'claimant', 'Armenia', "
        "'citations', jsonb_build_array(jsonb_build_object('source_id', CAST(:source AS text), "
        "'quote', 'residents resorted to shelter')), "
        f"'reported_at', to_char({_REPORTED}, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"
    )


@asynccontextmanager
async def indexes_deferred(engine: AsyncEngine, tables: Sequence[str]) -> AsyncIterator[None]:
    """Drop the secondary indexes and unique constraints of `tables`, and make them again after.

    A bulk load then writes bare tables and each index is built once, sorted,
    instead of being updated row by row. The definitions are read from the
    catalog, so whatever indexes the migrations made are the ones remade.
    """
    async with entry.begin(engine) as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT i.indrelid::regclass::text AS tab, "
                    "i.indexrelid::regclass::text AS name, c.conname, "
                    "pg_get_constraintdef(c.oid) AS condef, "
                    "pg_get_indexdef(i.indexrelid) AS indexdef "
                    "FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
                    "AND c.conrelid = i.indrelid "
                    "WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) AND NOT i.indisprimary"
                ),
                {"tables": list(tables)},
            )
        ).all()
        for row in rows:
            if row.conname is not None:
                await conn.execute(text(f'ALTER TABLE {row.tab} DROP CONSTRAINT "{row.conname}"'))
            else:
                await conn.execute(text(f"DROP INDEX {row.name}"))
    yield
    async with entry.begin(engine) as conn:
        await conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for row in rows:
            if row.conname is not None:
                await conn.execute(
                    text(f'ALTER TABLE {row.tab} ADD CONSTRAINT "{row.conname}" {row.condef}')
                )
            else:
                await conn.execute(text(row.indexdef))


_TEMPLATE = text(
    "INSERT INTO events (stream_type, stream_id, version, type, data, timeline, reported_at) "
    "SELECT 'assertion', CAST(:prefix AS text) || lpad(n::text, 6, '0'), 1, "
    "'AssertionRecorded', "
    + _assertion_data("CAST(:prefix AS text) || lpad(n::text, 6, '0')", "CAST(:slug AS text)")
    + ", :slug, "
    f"{_REPORTED} AT TIME ZONE 'UTC' "
    "FROM generate_series(1, CAST(:n AS int)) n ORDER BY n"
)


async def template(engine: AsyncEngine, slug: str, n: int, prefix: str) -> None:
    """Timeline `slug` of n assertions (ids prefix + 6 digits), projected by a rebuild.

    The rebuild replays the whole log: call it while the log is small. SOURCE must be
    registered (`entry.register_source`).
    """
    await entry.open_timeline(entry.writer(engine), slug)
    async with entry.begin(engine) as conn:
        await conn.execute(
            _TEMPLATE, {"slug": slug, "n": n, "prefix": prefix, "source": entry.SOURCE}
        )
    await entry.project_all(engine)


async def _columns(conn: AsyncConnection, table: str) -> list[tuple[str, str]]:
    rows = await conn.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'projections' AND table_name = :table "
            "AND is_generated = 'NEVER' ORDER BY ordinal_position"
        ),
        {"table": table},
    )
    return [(r.column_name, r.data_type) for r in rows]


async def _assertion_tables(conn: AsyncConnection) -> list[str]:
    """The projection tables with a row per assertion (or per assertion version)."""
    rows = await conn.scalars(
        text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = "
            "'projections' AND column_name IN ('assertion_id', 'timeline') "
            "GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name"
        )
    )
    return list(rows)


def _copied(column: str, kind: str, named: bool) -> str:
    """The SELECT expression giving `column` of a copy (o: the copy's number and offset).

    `named`: the template's values of the column hold its ids or slug, to be renamed.
    """
    renamed = "replace(replace({}, :prefix, :prefix || 'c' || o.c || '-'), :template, :target)"
    if column == "timeline":
        return "CAST(:target AS text)"
    if column in ("position", "last_position"):
        return f"{column} + o.shift"
    if not named:
        return column
    if kind == "jsonb":
        return renamed.format(f"{column}::text") + "::jsonb"
    if kind == "text":
        return renamed.format(column)
    return column


async def _named(
    conn: AsyncConnection, table: str, columns: list[tuple[str, str]], params: dict[str, object]
) -> set[str]:
    """The text and JSON columns of `table` whose template values name the template."""
    candidates = [c for c, k in columns if k in ("text", "jsonb")]
    if not candidates:
        return set()
    tests = ", ".join(
        f"bool_or(strpos({c}::text, :prefix) > 0 OR strpos({c}::text, :template) > 0) AS {c}"
        for c in candidates
    )
    row = (
        await conn.execute(
            text(f"SELECT {tests} FROM projections.{table} WHERE timeline = :template"), params
        )
    ).one()
    return {c for c in candidates if row._mapping[c]}


async def copy_assertions(
    engine: AsyncEngine, template_slug: str, prefix: str, target: str, copies: int
) -> int:
    """`copies` copies of the template's assertions into timeline `target` (which exists).

    Returns the number of assertions copied. Each copy's events are one block of
    positions in the template's order, so a projection row's positions move by the
    copy's offset.
    """
    params = {"template": template_slug, "prefix": prefix, "target": target, "copies": copies}
    async with entry.connect(engine) as conn:
        tables = await _assertion_tables(conn)
        columns = {table: await _columns(conn, table) for table in tables}
        # A JSON column is renamed through its text, the costly part of the copy: only
        # those that hold ids are.
        named = {table: await _named(conn, table, columns[table], params) for table in tables}
    async with (
        indexes_deferred(engine, ["events", *(f"projections.{t}" for t in tables)]),
        entry.begin(engine) as conn,
    ):
        first = await conn.scalar(
            text(
                "SELECT min(position) FROM events WHERE timeline = :template "
                "AND stream_type = 'assertion'"
            ),
            params,
        )
        before = await conn.scalar(text("SELECT coalesce(max(position), 0) FROM events"))
        copied = await conn.execute(
            text(
                "INSERT INTO events (stream_type, stream_id, version, type, schema_version, "
                "data, metadata, timeline, reported_at, recorded_at) "
                "SELECT e.stream_type, replace(e.stream_id, :prefix, :prefix || 'c' || c || '-'), "
                "e.version, e.type, e.schema_version, replace(replace(e.data::text, :prefix, "
                ":prefix || 'c' || c || '-'), :template, :target)::jsonb, e.metadata, :target, "
                "e.reported_at, e.recorded_at "
                "FROM generate_series(1, CAST(:copies AS int)) c, events e "
                "WHERE e.timeline = :template AND e.stream_type = 'assertion' "
                "ORDER BY c, e.position"
            ),
            params,
        )
        await conn.execute(
            text(
                "CREATE TEMP TABLE _copies ON COMMIT DROP AS "
                "SELECT c, min(position) - :first AS shift FROM ("
                "  SELECT position, split_part(substr(stream_id, length(:prefix) + 2), '-', 1)::int"
                "  AS c FROM events WHERE position > :before AND timeline = :target) x GROUP BY c"
            ),
            {**params, "first": first, "before": before},
        )
        for table in tables:
            names = ", ".join(c for c, _ in columns[table])
            exprs = ", ".join(_copied(c, k, c in named[table]) for c, k in columns[table])
            await conn.execute(
                text(
                    f"INSERT INTO projections.{table} ({names}) SELECT {exprs} "
                    f"FROM projections.{table} JOIN _copies o ON true "
                    "WHERE timeline = :template"
                ),
                params,
            )
    await analyze(engine)
    return int(copied.rowcount)


async def analyze(engine: AsyncEngine) -> None:
    """As autovacuum would after a bulk load, before anything is measured."""
    async with entry.connect(engine.execution_options(isolation_level="AUTOCOMMIT")) as conn:
        await conn.execute(text("VACUUM (ANALYZE)"))


# The data of the template's events, cycled: building 10 million JSON values by SQL
# costs ~40 us each here, five times the insert itself.
_POOL = text(
    "CREATE TEMP TABLE _pool AS SELECT row_number() OVER (ORDER BY position) - 1 AS k, data, "
    "reported_at FROM events WHERE timeline = :template AND stream_type = 'assertion'"
)
_GROW = text(
    "INSERT INTO events (stream_type, stream_id, version, type, data, timeline, reported_at) "
    "SELECT 'assertion', 'g' || n, 1, 'AssertionRecorded', p.data, 'g-' || ((n - 1) / 1000), "
    "p.reported_at FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) n "
    "JOIN _pool p ON p.k = n % CAST(:pool AS int)"
)
# Timeline t holds assertions 1000t+1 .. 1000t+1000: opened in the batch of its first.
_GROW_TIMELINES = text(
    "INSERT INTO events (stream_type, stream_id, version, type, data, timeline) "
    "SELECT 'timeline', 'g-' || t, 1, 'TimelineOpened', jsonb_build_object('slug', 'g-' || t, "
    "'title', 'Timeline ' || t, 'description', '', 'region', 'Caucasus'), 'g-' || t "
    "FROM generate_series(CAST(:first AS bigint) / 1000, CAST(:last AS bigint) / 1000) t "
    "WHERE t * 1000 + 1 BETWEEN :first AND :last"
)


async def grow_log(
    engine: AsyncEngine, events: int, *, budget: float, slug: str, batch: int = 250_000
) -> int:
    """Up to `events` more events in the log, within `budget` seconds; how many were written.

    Call once per database. The events' data are those of the assertions of
    template timeline `slug`, cycled (so the ids inside do not match their streams:
    nothing reads them here). The new timelines' rows are copies of `slug`'s row
    (its columns are whatever the projection holds). Each batch commits on its own.
    """
    start, written = time.perf_counter(), 0
    async with indexes_deferred(engine, ["events"]), entry.connect(engine) as conn:
        # One session, so the pool of data is a temporary table read by every batch.
        async with conn.begin():
            await conn.execute(_POOL, {"template": slug})
            pool = await conn.scalar(text("SELECT count(*) FROM _pool"))
        while written < events and time.perf_counter() - start < budget:
            first, last = written + 1, written + min(batch, events - written)
            async with conn.begin():
                await conn.execute(_GROW_TIMELINES, {"first": first, "last": last})
                await conn.execute(_GROW, {"first": first, "last": last, "pool": pool})
            written = last
        async with conn.begin():
            await conn.execute(text("DROP TABLE _pool"))
    async with entry.begin(engine) as conn:
        columns = await _columns(conn, "timelines")
        names = ", ".join(c for c, _ in columns)
        exprs = ", ".join(
            "'g-' || t" if c == "slug" else ("'Timeline ' || t" if c == "title" else c)
            for c, _ in columns
        )
        await conn.execute(
            text(
                f"INSERT INTO projections.timelines ({names}) SELECT {exprs} "
                "FROM projections.timelines, "
                "generate_series(0, (CAST(:written AS bigint) - 1) / 1000) t "
                "WHERE slug = :slug"
            ),
            {"slug": slug, "written": written},
        )
    return written


async def fill_keys(engine: AsyncEngine, keys: int) -> None:
    """`keys` idempotency keys of the last day, pointing at the grown log's events."""
    async with entry.begin(engine) as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_keys (key, request_hash, stream_type, stream_id, "
                "version, positions, recorded_at, created_at) "
                "SELECT 'k-' || n, sha256(('k-' || n)::bytea), 'assertion', 'g' || n, 1, "
                "ARRAY[n], now(), now() - make_interval(secs => n % 86000) "
                "FROM generate_series(1, CAST(:keys AS bigint)) n ON CONFLICT DO NOTHING"
            ),
            {"keys": keys},
        )


TEMPLATE = "tpl-1k"  # 1,000 assertions
PREFIX = "tpa-"  # its assertions' ids
BIG = "w-100k"  # 100 copies of it


async def scale_timelines(engine: AsyncEngine) -> None:
    """TEMPLATE and BIG (100,000 assertions), once per database."""
    async with entry.connect(engine) as conn:
        done = await conn.scalar(
            text("SELECT count(*) FROM events WHERE stream_type = 'timeline' AND stream_id = :s"),
            {"s": BIG},
        )
    if done:
        return
    started = time.perf_counter()
    runner = entry.writer(engine)
    await entry.register_source(runner)
    await template(engine, TEMPLATE, 1000, PREFIX)
    await entry.open_timeline(runner, BIG)
    copied = await copy_assertions(engine, TEMPLATE, PREFIX, BIG, 100)
    print(
        f"  (filled {TEMPLATE} with 1000 and {BIG} with {copied} assertions "
        f"in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
