"""relay checkpoints: where each relay's published feed ends, saved after the broker's acks

One row per relay (named by the broker stream it publishes to): the cursor of
the last event the broker acknowledged that the relay has saved, with its
transaction id and position (so a save never moves it back), how many it has
published since the row was made, and when it was saved. The relay saves it
in batches, so after a crash it publishes again at most one batch, which the
broker's duplicate window drops.

Create Date: 2026-12-01 23:50:00.000000
"""

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"


def upgrade() -> None:
    op.execute(
        "CREATE TABLE IF NOT EXISTS relay_checkpoints ("
        "name text PRIMARY KEY, "
        "cursor text NOT NULL, "
        "tx_id bigint NOT NULL, "
        "position bigint NOT NULL, "
        "published bigint NOT NULL DEFAULT 0, "
        "saved_at timestamptz NOT NULL DEFAULT now())"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS relay_checkpoints")
