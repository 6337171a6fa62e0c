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

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 16:10:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 'TLAP': the first key of the two-int advisory locks taken per idempotency key.
KEY_LOCK_SPACE = 0x544C4150

APPEND = f"""
CREATE FUNCTION timeline_append(
  p_stream_type text, p_stream_id text, p_expected bigint,
  p_types text[], p_schema_versions int[], p_data jsonb[], p_reported_at timestamptz[],
  p_metadata jsonb, p_timeline text, p_idem_key text, p_idem_hash bytea, p_idem_ttl int
) RETURNS TABLE (replayed boolean, stream_type text, stream_id text, version bigint,
                 positions bigint[], recorded_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  v_key idempotency_keys%ROWTYPE;
  v_expired boolean := false;
  v_current bigint;
  v_count int := cardinality(p_types);
  v_position bigint;
  v_positions bigint[];
  v_recorded timestamptz;
BEGIN
  IF p_idem_key IS NOT NULL THEN
    -- A concurrent first use of the same key waits here until it ends; the next
    -- statement (READ COMMITTED: a fresh snapshot) then sees its key row.
    PERFORM pg_advisory_xact_lock({KEY_LOCK_SPACE}, hashtext(p_idem_key));
    SELECT * INTO v_key FROM idempotency_keys k WHERE k.key = p_idem_key;
    IF FOUND THEN
      IF v_key.created_at >= now() - make_interval(secs => p_idem_ttl) THEN
        IF v_key.request_hash <> p_idem_hash THEN
          RAISE EXCEPTION 'idempotency key % was used for a different request', p_idem_key
            USING ERRCODE = 'TL422';
        END IF;
        RETURN QUERY SELECT true, v_key.stream_type, v_key.stream_id, v_key.version,
                            v_key.positions, v_key.recorded_at;
        RETURN;
      END IF;
      v_expired := true;
    END IF;
  END IF;

  SELECT coalesce(max(e.version), 0) INTO v_current FROM events e
   WHERE e.stream_type = p_stream_type AND e.stream_id = p_stream_id;
  IF p_expected IS NOT NULL AND v_current <> p_expected THEN
    RAISE EXCEPTION 'stream %/% is at version %, not %', p_stream_type, p_stream_id,
                    v_current, p_expected
      USING ERRCODE = 'TL409', DETAIL = v_current::text;
  END IF;

  IF v_count = 1 THEN
    INSERT INTO events (stream_type, stream_id, version, type, schema_version, data,
                        metadata, timeline, reported_at)
    VALUES (p_stream_type, p_stream_id, v_current + 1, p_types[1], p_schema_versions[1],
            p_data[1], p_metadata, p_timeline, p_reported_at[1])
    RETURNING events.position, events.recorded_at INTO v_position, v_recorded;
    v_positions := ARRAY[v_position];
  ELSE
    WITH inserted AS (
      INSERT INTO events (stream_type, stream_id, version, type, schema_version, data,
                          metadata, timeline, reported_at)
      SELECT p_stream_type, p_stream_id, v_current + u.n, u.type, u.schema_version, u.data,
             p_metadata, p_timeline, u.reported_at
        FROM unnest(p_types, p_schema_versions, p_data, p_reported_at)
             WITH ORDINALITY AS u (type, schema_version, data, reported_at, n)
       ORDER BY u.n
      RETURNING events.position, events.recorded_at
    )
    SELECT array_agg(inserted.position ORDER BY inserted.position), min(inserted.recorded_at)
      INTO v_positions, v_recorded FROM inserted;
  END IF;

  IF p_idem_key IS NOT NULL THEN
    IF v_expired THEN
      UPDATE idempotency_keys k
         SET request_hash = p_idem_hash, stream_type = p_stream_type,
             stream_id = p_stream_id, version = v_current + v_count,
             positions = v_positions, recorded_at = v_recorded, created_at = now()
       WHERE k.key = p_idem_key;
    ELSE
      INSERT INTO idempotency_keys (key, request_hash, stream_type, stream_id, version,
                                    positions, recorded_at)
      VALUES (p_idem_key, p_idem_hash, p_stream_type, p_stream_id, v_current + v_count,
              v_positions, v_recorded);
    END IF;
  END IF;
  RETURN QUERY SELECT false, p_stream_type, p_stream_id, v_current + v_count,
                      v_positions, v_recorded;
END $$;
"""


def _previous_append() -> str:
    path = Path(__file__).with_name("20261125_0001_event_store.py")
    spec = importlib.util.spec_from_file_location("event_store_0001", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.APPEND)


def upgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    op.execute(APPEND)


def downgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    op.execute(_previous_append())
