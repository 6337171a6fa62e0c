"""The read indexes: what a rebuild creates once, after its bulk load, and the span classes.

Migrations 0003 and 0006 made these on the live schema; `DEFERRED_INDEXES`
lists them so a rebuild makes the same (tests/projections/test_window_plans.py
holds them to the migrations).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import DateTime, Index, Table, func, literal_column, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex

from timeline.projections.assertions import assertions, revisions
from timeline.projections.schema import SCHEMA

_INFINITY = literal_column("'infinity'::timestamptz", DateTime(timezone=True))

# Spans of valid time longer than one day fall into classes by length: class k
# (1..11) holds spans of [4^(k-1), 4^k) days, the last one everything longer.
# A page with occurred_from F finds the assertions that started before F and
# still overlap it class by class, each an index range scan over starts in
# [F - (4^k - 1), F) (projections.pages); one-day assertions, most of them,
# cannot overlap F without starting on it, so the span indexes leave them out.
SPAN_BOUNDS = tuple(4**k for k in range(11))


def span_class(alias: str = "") -> str:
    """The SQL of an assertion row's span class, as the span indexes compute it."""
    prefix = f"{alias}." if alias else ""
    bounds = ", ".join(str(b) for b in SPAN_BOUNDS)
    return (
        f"width_bucket({prefix}occurred_end - {prefix}occurred_start, "
        f"CAST(ARRAY[{bounds}] AS integer[]))"
    )


# The SQL function (migration 0006) giving an assertion's actors as keys
# qualified by its timeline, lower-cased: `actor=` is one GIN lookup within the
# timeline, not every assertion of the store that names the actor.
ACTOR_KEYS = "timeline_actor_keys"


def _filter_indexes(table: Table) -> list[Index]:
    """Filtered pages (migration 0006), of current rows and of revisions alike: each
    kind or status asked for is a range scan in page order; a span class is one from
    a lookback date; `actor=` and `q=` are GIN lookups."""
    c = table.c
    in_page_order = (c.occurred_start, c.assertion_id)
    return [
        Index(f"{table.name}_timeline_kind_idx", c.timeline, c.kind, *in_page_order),
        Index(f"{table.name}_timeline_status_idx", c.timeline, c.status, *in_page_order),
        Index(
            f"{table.name}_timeline_span_idx",
            c.timeline,
            literal_column(span_class()),
            *in_page_order,
            postgresql_where=c.occurred_end > c.occurred_start,
        ),
        Index(
            f"{table.name}_timeline_actors_idx",
            getattr(func, ACTOR_KEYS)(c.timeline, c.actors),
            postgresql_using="gin",
        ),
        Index(f"{table.name}_search_idx", c.search, postgresql_using="gin"),
    ]


DEFERRED_INDEXES = (
    Index(
        "assertions_timeline_page_idx",
        assertions.c.timeline,
        assertions.c.occurred_start,
        assertions.c.assertion_id,
    ),
    Index("assertions_timeline_position_idx", assertions.c.timeline, assertions.c.last_position),
    *_filter_indexes(assertions),
    Index("assertions_cited_sources_idx", assertions.c.cited_sources, postgresql_using="gin"),
    # Keyset pages of revisions (migration 0003). The interval columns follow the
    # page order so the terms of projections.visibility are checked in the
    # index and only the matching rows are fetched: known_at on the rows held now
    # (partial), recorded_at on every row.
    Index(
        "revisions_live_page_idx",
        revisions.c.timeline,
        revisions.c.occurred_start,
        revisions.c.assertion_id,
        revisions.c.known_from,
        func.coalesce(revisions.c.known_to, _INFINITY),
        postgresql_where=revisions.c.recorded_to.is_(None),
    ),
    Index(
        "revisions_held_page_idx",
        revisions.c.timeline,
        revisions.c.occurred_start,
        revisions.c.assertion_id,
        revisions.c.recorded_from,
        func.coalesce(revisions.c.recorded_to, _INFINITY),
        revisions.c.known_from,
    ),
    *_filter_indexes(revisions),
    Index("revisions_timeline_reported_idx", revisions.c.timeline, revisions.c.reported_at),
    # The largest position on a timeline as held at recorded_at: a backward
    # index-only scan that tests recorded_from in the index (migration 0003).
    Index(
        "revisions_timeline_position_idx",
        revisions.c.timeline,
        revisions.c.position,
        revisions.c.recorded_from,
    ),
)


_LIVE_INDEXES = text(
    "SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition "
    "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
    "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
    "WHERE n.nspname = :schema AND NOT x.indisprimary ORDER BY i.relname"
)


async def create_indexes(engine: AsyncEngine, into: str) -> None:
    """In schema `into` (a rebuild's), once its tables are loaded: the secondary indexes
    the live schema has (a migration may have added some) and those listed here.

    Two at a time, each in its own transaction (CREATE INDEX takes a SHARE lock,
    which does not block another), so the server's two cores both build.
    """
    async with engine.connect() as conn:
        live = (await conn.execute(_LIVE_INDEXES, {"schema": SCHEMA})).all()
        made = (await conn.execute(_LIVE_INDEXES, {"schema": into})).all()
    have = {row.name for row in made}  # a resumed run may have made some
    todo: list[Any] = []
    on_live = f" ON {SCHEMA}."
    for row in live:
        if row.name not in have:
            assert on_live in row.definition, row.definition
            todo.append(text(row.definition.replace(on_live, f" ON {into}.", 1)))
            have.add(row.name)
    todo += [
        CreateIndex(index, if_not_exists=True)
        for index in DEFERRED_INDEXES
        if index.name not in have
    ]

    async def worker() -> None:
        while todo:
            statement = todo.pop()
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                translated = await conn.execution_options(schema_translate_map={SCHEMA: into})
                await translated.execute(statement)

    await asyncio.gather(worker(), worker())
