"""event store

Create Date: 2026-11-25 14:49:12.843174
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

from timeline.migrations import run_sql

revision: str = "0001"
down_revision: str | None = None


class _Xid8(UserDefinedType):  # type: ignore[type-arg]
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


XID8 = _Xid8()


def _created_at() -> sa.Column[object]:
    """When the row was written: each of idempotency_keys, store_meta and api_keys has it."""
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tx_id", XID8, server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("stream_type", sa.Text(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("timeline", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint(
            "stream_type", "stream_id", "version", name="events_stream_version_key"
        ),
    )
    op.create_index("events_feed_idx", "events", ["tx_id", "position"], unique=False)
    op.create_index(
        "events_timeline_feed_idx", "events", ["timeline", "tx_id", "position"], unique=False
    )
    op.create_index("events_type_feed_idx", "events", ["type", "tx_id", "position"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("stream_type", sa.Text(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("positions", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "idempotency_keys_created_idx", "idempotency_keys", ["created_at"], unique=False
    )
    op.create_table(
        "store_meta",
        sa.Column("store_id", sa.UUID(as_uuid=False), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        _created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.execute("INSERT INTO store_meta (store_id) VALUES (gen_random_uuid())")
    # Immutability lives in the database: whatever client tries, an UPDATE, DELETE
    # or TRUNCATE of the events table fails.
    run_sql("timeline_events_are_immutable.v1")
    run_sql("timeline_append.v1")


def downgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    op.execute("DROP TABLE events")  # the triggers refuse TRUNCATE, not DROP
    op.execute("DROP FUNCTION timeline_events_are_immutable")
    op.drop_table("api_keys")
    op.drop_table("store_meta")
    op.drop_index("idempotency_keys_created_idx", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
