"""window and filter indexes: a page costs the same on a timeline of 100 assertions and of 100,000

A page with occurred_from walked the page index from the timeline's first
assertion, testing occurred_end on every one that ended before the window.
projections.reads now reads such a page in two parts, each bounded by the page:
the assertions that start inside the window (a range scan of the page index
from occurred_from), and the few that started before it and still overlap it,
found per span class by the new span indexes (partial: one-day assertions,
most of them, are left out). Filters by kind or status are range scans of
their own index in page order, one per value asked for; `actor=` is a GIN
lookup of timeline-qualified, lower-cased keys (function timeline_actor_keys).
The same indexes are made on projections.revisions for known_at / recorded_at
pages, with the full-text GIN index assertions has had since 0002. `timeline
rebuild` makes them too (projections.tables.DEFERRED_INDEXES). `place=` gets a
trigram GIN index where the server has pg_trgm and we may install it (the
embedded server has not: there `place=` walks the page in order, as before);
a rebuild keeps it, as it keeps every index of the live schema.

Create Date: 2026-12-01 10:00:00.000000
"""

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from timeline.migrations import run_sql

revision: str = "0006"
down_revision: str | None = "0005"

# Written out rather than imported: a migration keeps the schema it made even
# when projections.tables moves on. SPAN_CLASS equals tables.span_class()
# (tests/projections/test_window_plans.py checks).
SPAN_CLASS = (
    "width_bucket(occurred_end - occurred_start, "
    "CAST(ARRAY[1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576] AS integer[]))"
)
TABLES = ("assertions", "revisions")


def _trigrams() -> bool:
    """pg_trgm installed here, if the server has it and we may (it is a trusted extension)."""
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
        try:
            with bind.begin_nested():
                bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except DBAPIError:
            return False  # not allowed to: `place=` walks the page, as before
    installed = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    return bind.execute(text(installed)).first() is not None


def upgrade() -> None:
    run_sql("timeline_actor_keys.v1")
    trigrams = _trigrams()
    for table in TABLES:
        for column in ("kind", "status"):
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_timeline_{column}_idx ON projections.{table} "
                f"(timeline, {column}, occurred_start, assertion_id)"
            )
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_timeline_span_idx ON projections.{table} "
            f"(timeline, {SPAN_CLASS}, occurred_start, assertion_id) "
            "WHERE occurred_end > occurred_start"
        )
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_timeline_actors_idx ON projections.{table} "
            "USING gin (timeline_actor_keys(timeline, actors))"
        )
        if trigrams:
            # `place=` is a substring match (ILIKE '%...%'): only trigrams index it
            op.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_place_trgm_idx ON projections.{table} "
                "USING gin (place_name gin_trgm_ops)"
            )
        if table == "revisions":  # assertions has had one since 0002
            op.execute(
                "CREATE INDEX IF NOT EXISTS revisions_search_idx ON projections.revisions "
                "USING gin (search)"
            )
        # statistics on the index expressions, so the planner weighs actor= by its frequency
        op.execute(f"ANALYZE projections.{table}")


def downgrade() -> None:
    for table in TABLES:
        for name in ("kind", "status", "span", "actors"):
            op.execute(f"DROP INDEX IF EXISTS projections.{table}_timeline_{name}_idx")
        op.execute(f"DROP INDEX IF EXISTS projections.{table}_place_trgm_idx")
    op.execute("DROP INDEX IF EXISTS projections.revisions_search_idx")
    op.execute("DROP FUNCTION IF EXISTS public.timeline_actor_keys(text, text[])")
