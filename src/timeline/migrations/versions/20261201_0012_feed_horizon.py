"""feed horizon: one SQL function for the first transaction that may still be running

The feed serves only events of transactions older than the oldest one still
running, leaving out the running transactions of other databases of the
server (they cannot write these events), and on a standby the snapshot's
xmin. The feed, the hub and the rebuild each wrote that rule out; now each
calls `timeline_feed_horizon()` (sql/timeline_feed_horizon.v1.sql).

Create Date: 2026-12-01 23:50:00.000000
"""

from alembic import op

from timeline.migrations import run_sql

revision: str = "0012"
down_revision: str | None = "0009"


def upgrade() -> None:
    run_sql("timeline_feed_horizon.v1")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS public.timeline_feed_horizon()")
