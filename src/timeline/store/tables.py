"""The store's tables, defined once; Alembic's target metadata."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.types import UserDefinedType

metadata = MetaData()


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit, wraparound-free transaction id."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    # The writing transaction: the feed serves only transactions older than
    # the oldest still running, so a late commit can never be skipped.
    Column("tx_id", Xid8(), nullable=False, server_default=text("pg_current_xact_id()")),
    Column("stream_type", Text, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("type", Text, nullable=False),
    Column("schema_version", SmallInteger, nullable=False, server_default=text("1")),
    Column("data", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("timeline", Text, nullable=True),
    Column("reported_at", DateTime(timezone=True), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("stream_type", "stream_id", "version", name="events_stream_version_key"),
    Index("events_feed_idx", "tx_id", "position"),
    Index("events_timeline_feed_idx", "timeline", "tx_id", "position"),
    Index("events_type_feed_idx", "type", "tx_id", "position"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", Text, nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    Column("stream_type", Text, nullable=False),
    Column("stream_id", Text, nullable=False),
    Column("version", BigInteger, nullable=True),
    Column("positions", ARRAY(BigInteger), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Who may replay the key: the writer's actor (key:<api key id>), '' for none (0008).
    Column("owner", Text, nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("owner", "key", name="idempotency_keys_pkey"),
    Index("idempotency_keys_created_idx", "created_at"),
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("store_id", UUID(as_uuid=False), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("name", Text, nullable=False, server_default=text("''")),
    # sha256 of the secret; the secret itself is shown once and never stored.
    Column("secret_hash", LargeBinary, nullable=False, unique=True),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# The verifiable log (migration 0009, docs/log.md): append-only like events.
log_leaves = Table(
    "log_leaves",
    metadata,
    Column("leaf_index", BigInteger, primary_key=True),
    Column("position", BigInteger, nullable=False, unique=True),
    Column("leaf_hash", LargeBinary, nullable=False),
)

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True),
    Column("idx", BigInteger, primary_key=True),
    Column("hash", LargeBinary, nullable=False),
)

log_checkpoints = Table(
    "log_checkpoints",
    metadata,
    Column("tree_size", BigInteger, primary_key=True),
    Column("root_hash", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
