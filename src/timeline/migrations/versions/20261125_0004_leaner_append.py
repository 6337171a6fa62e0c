"""leaner timeline_append: one write of the idempotency key, a one-event fast path

The append is the write path's one statement, so its server CPU is paid on
every command. Compared with 0001's version:
- the idempotency key is written once, after the events, with its result;
  a concurrent first use of the same key waits on a transaction-scoped
  advisory lock (two-int key space, apart from the bigint locks) instead of
  on the key row inserted first and updated at the end;
- a one-event append inserts with VALUES, a batch with one INSERT ... SELECT
  over unnest(...) WITH ORDINALITY (no per-row array subscripts);
- data and metadata arrive as jsonb, not text cast row by row.

Create Date: 2026-11-25 16:10:00.000000
"""

from alembic import op

from timeline.migrations import run_sql

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    run_sql("timeline_append.v2")


def downgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    run_sql("timeline_append.v1")
