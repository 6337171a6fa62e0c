"""projections: current state, bitemporal revision history, build cursor

The read models live in their own schema so `timeline rebuild` can build a
fresh copy beside them and swap the two by renaming schemas. On a store that
already holds events, run `timeline rebuild` after this migration.

Create Date: 2026-11-25 14:59:21.928019
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"


def _state_columns() -> list[sa.Column[object]]:
    """The columns of an assertion's state, which `assertions` and `revisions` both hold.

    A new list each call: a Column belongs to one table.
    """
    return [
        sa.Column("timeline", sa.Text(), nullable=False),
        sa.Column("occurred_start", sa.Date(), nullable=False),
        sa.Column("occurred_end", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("actors", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("place_name", sa.Text(), nullable=True),
        sa.Column("claimant", sa.Text(), nullable=True),
        sa.Column("cited_sources", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english', search_text)", persisted=True),
            nullable=True,
        ),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _index(name: str, table: str, columns: list[str], using: str | None = None) -> None:
    op.create_index(
        name, table, columns, unique=False, schema="projections", postgresql_using=using
    )


def _drop_index(name: str, table: str, using: str | None = None) -> None:
    op.drop_index(name, table_name=table, schema="projections", postgresql_using=using)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS projections")
    op.create_table(
        "assertions",
        sa.Column("assertion_id", sa.Text(), nullable=False),
        *_state_columns(),
        sa.PrimaryKeyConstraint("assertion_id"),
        schema="projections",
    )
    _index("assertions_cited_sources_idx", "assertions", ["cited_sources"], using="gin")
    _index("assertions_search_idx", "assertions", ["search"], using="gin")
    _index(
        "assertions_timeline_page_idx", "assertions", ["timeline", "occurred_start", "assertion_id"]
    )
    _index("assertions_timeline_position_idx", "assertions", ["timeline", "last_position"])
    op.create_table(
        "build",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("feed_tx_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_position", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        schema="projections",
    )
    op.create_table(
        "revisions",
        sa.Column("assertion_id", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("recorded_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("known_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("known_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("known_cut_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("schema_version", sa.BigInteger(), nullable=False),
        sa.Column("event_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("citations", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        *_state_columns(),
        sa.PrimaryKeyConstraint("assertion_id", "version", "recorded_from"),
        schema="projections",
    )
    _index(
        "revisions_timeline_page_idx", "revisions", ["timeline", "occurred_start", "assertion_id"]
    )
    _index("revisions_timeline_reported_idx", "revisions", ["timeline", "reported_at"])
    op.create_table(
        "sources",
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at_note", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("via", sa.Text(), nullable=True),
        sa.Column("credits", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source_id"),
        schema="projections",
    )
    op.create_table(
        "timelines",
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
        schema="projections",
    )


def downgrade() -> None:
    op.drop_table("timelines", schema="projections")
    op.drop_table("sources", schema="projections")
    _drop_index("revisions_timeline_reported_idx", "revisions")
    _drop_index("revisions_timeline_page_idx", "revisions")
    op.drop_table("revisions", schema="projections")
    op.drop_table("build", schema="projections")
    _drop_index("assertions_timeline_position_idx", "assertions")
    _drop_index("assertions_timeline_page_idx", "assertions")
    _drop_index("assertions_search_idx", "assertions", using="gin")
    _drop_index("assertions_cited_sources_idx", "assertions", using="gin")
    op.drop_table("assertions", schema="projections")
    op.execute("DROP SCHEMA projections CASCADE")
