"""scoped idempotency keys: a key belongs to the API key that sent it; expired keys are purged

Until now an Idempotency-Key was global: another API key sending the same key
and body received the first writer's stored response, and with another body
provoked 422s on the first writer's key. A key row now carries its `owner` (the
writer's actor, `key:<api key id>`; '' for writes made without one, such as the
store's own tests), and the primary key is (owner, key): one owner never sees,
replays or blocks another's key. `timeline_write` v2 takes the owner
(p_idem_owner, after p_idem_key); `timeline_append` v4 keeps its signature
(owner ''). Keys stored before this revision get the owner '', which no API
key has: they stop replaying and are purged once past their TTL.

Keys were never deleted (one row per keyed write, for ever):
`timeline_purge_idempotency_keys(ttl, limit)` deletes a small batch of expired
ones per call, each call its own short transaction, so the feed's horizon is
held back only for one batch (store/idempotency.py runs it).

Create Date: 2026-12-01 23:50:00.000000
"""

from alembic import op

from timeline.migrations import run_sql

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.execute("ALTER TABLE idempotency_keys ADD COLUMN owner text NOT NULL DEFAULT ''")
    op.execute(
        "ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, "
        "ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner, key)"
    )
    op.execute("DROP FUNCTION timeline_append")
    op.execute("DROP FUNCTION timeline_write")
    run_sql("timeline_write.v2")
    run_sql("timeline_append.v4")
    run_sql("timeline_purge_idempotency_keys.v1")


def downgrade() -> None:
    op.execute("DROP FUNCTION timeline_purge_idempotency_keys")
    op.execute("DROP FUNCTION timeline_append")
    op.execute("DROP FUNCTION timeline_write")
    run_sql("timeline_write.v1")
    run_sql("timeline_append.v3")
    # Global keys again: two owners' rows of one key cannot both stay, and a scoped key
    # must not start replaying for everyone, so only the ownerless ones are kept.
    op.execute("DELETE FROM idempotency_keys WHERE owner <> ''")
    op.execute(
        "ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, "
        "ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key)"
    )
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN owner")
