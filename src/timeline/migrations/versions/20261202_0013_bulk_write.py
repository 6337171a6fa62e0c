"""bulk write: a batch of assertion streams written set-based, and dataset row hashes

`timeline_bulk_write` (sql/timeline_bulk_write.v1.sql) writes a batch that the
caller COPYs into session-local staging tables (`timeline_bulk_staging` makes
them): the events, their projection rows, checked and inserted by joins
instead of one jsonb document per table. A dataset release writes through it.

`dataset_rows` holds, per dataset row of a timeline, a hash of the row as the
release that last wrote it had it, and the position its assertion's current
row had then. A re-import compares that short column instead of the states:
a row whose hash and position both still match needs nothing. It is a cache
of the log: a missing or stale row only costs the full comparison.

Create Date: 2026-12-02 05:40:00.000000
"""

from alembic import op

from timeline.migrations import run_sql

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    op.execute(
        "CREATE TABLE dataset_rows ("
        "timeline text NOT NULL, dataset text NOT NULL, row_id text NOT NULL, "
        "assertion_id text NOT NULL, row_hash bytea NOT NULL, last_position bigint NOT NULL, "
        "PRIMARY KEY (timeline, dataset, row_id))"
    )
    op.execute(
        "CREATE TABLE dataset_releases ("
        "timeline text NOT NULL, dataset text NOT NULL, reported_at timestamptz NOT NULL, "
        "through_position bigint NOT NULL, PRIMARY KEY (timeline, dataset))"
    )
    run_sql("timeline_bulk_write.v1")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS public.timeline_bulk_write(jsonb, timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS public.timeline_bulk_staging()")
    op.execute("DROP TABLE IF EXISTS dataset_releases")
    op.execute("DROP TABLE IF EXISTS dataset_rows")
