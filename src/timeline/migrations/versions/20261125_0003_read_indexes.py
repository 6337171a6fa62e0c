"""read indexes: keyset pages of revisions checked on the temporal terms in the index

A timeline page by known_at or recorded_at walks (timeline, occurred_start,
assertion_id) in order. With the interval columns after those keys, the
temporal terms of projections.reads are tested inside the index, so only the
one revision row per assertion that answers is fetched from the heap, however
many versions an assertion has. The partial index serves known_at over the
rows held now; the full one serves recorded_at and replaces the plain page
index, which it covers. A third gives the largest position on a timeline as
held at recorded_at (the page's ETag input) without reading every revision of
the timeline. `timeline rebuild` makes the same indexes
(projections.tables.DEFERRED_INDEXES).

Create Date: 2026-11-25 15:40:00.000000
"""

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS revisions_live_page_idx ON projections.revisions "
        "(timeline, occurred_start, assertion_id, known_from, "
        "coalesce(known_to, 'infinity'::timestamptz)) WHERE recorded_to IS NULL"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS revisions_held_page_idx ON projections.revisions "
        "(timeline, occurred_start, assertion_id, recorded_from, "
        "coalesce(recorded_to, 'infinity'::timestamptz), known_from)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS revisions_timeline_position_idx ON projections.revisions "
        "(timeline, position, recorded_from)"
    )
    op.execute("DROP INDEX IF EXISTS projections.revisions_timeline_page_idx")
    op.execute("ANALYZE projections.revisions")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS revisions_timeline_page_idx ON projections.revisions "
        "(timeline, occurred_start, assertion_id)"
    )
    op.execute("DROP INDEX IF EXISTS projections.revisions_timeline_position_idx")
    op.execute("DROP INDEX IF EXISTS projections.revisions_held_page_idx")
    op.execute("DROP INDEX IF EXISTS projections.revisions_live_page_idx")
