"""the verifiable log: leaves, complete nodes and signed checkpoints of the Merkle tree

One RFC 9162 tree per store over the feed (docs/log.md). `log_leaves` maps each
leaf index to the event's position and keeps the leaf hash; `log_nodes` keeps
every complete interior node (level >= 1), so a proof or a tile is one index
lookup; `log_checkpoints` keeps every signed checkpoint, so the sequencer can
prove each new one consistent with the last before it signs. All three refuse
UPDATE, DELETE and TRUNCATE, as the events table does.

Create Date: 2026-12-01 23:50:00.000000
"""

from alembic import op

from timeline.migrations import run_sql

revision: str = "0009"
down_revision: str | None = "0010"

TABLES = ("log_leaves", "log_nodes", "log_checkpoints")

CREATE = (
    """
CREATE TABLE log_leaves (
  leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
  position bigint NOT NULL UNIQUE,
  leaf_hash bytea NOT NULL CHECK (length(leaf_hash) = 32)
)
""",
    """
CREATE TABLE log_nodes (
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
  idx bigint NOT NULL CHECK (idx >= 0),
  hash bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
)
""",
    """
CREATE TABLE log_checkpoints (
  tree_size bigint PRIMARY KEY CHECK (tree_size > 0),
  root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
  note text NOT NULL,
  signed_at timestamptz NOT NULL DEFAULT now()
)
""",
)


def upgrade() -> None:
    for statement in CREATE:
        op.execute(statement)
    run_sql("timeline_log_is_append_only.v1")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION timeline_log_is_append_only")
