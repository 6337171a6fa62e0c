"""one write: a command's events, its projection rows and its idempotency key in one statement

`timeline_write` is the write path's second and last round trip (the first is
the load a decision reads). Called in autocommit, it is its own transaction:
- the idempotency key, under a transaction-scoped advisory lock on it (as in
  0004): a live key with the same request hash replays the first result, with
  another hash raises TL422; an expired one is taken over;
- the optimistic-concurrency check of every stream it appends to (TL409, its
  DETAIL a JSON object naming the stream, 1-based, and its actual version),
  with the unique (stream_type, stream_id, version) constraint as the last word;
- the events, several streams at once (a withdrawal and the assertions it
  tells), with recorded_at as the caller read it from the server's clock
  before deciding (NULL: now());
- the projection rows the caller computed from them (JSON arrays in the
  tables' own column names), in which a position the log has not assigned yet
  is PENDING + k, k the 1-based index of the event in this write; PENDING is
  2^62, above any real position. `timeline_position` and `timeline_view`
  replace those by the positions just assigned (a stored view is JSON ending
  in its last_position);
- the key row, written once with the result.
It returns the events as stored: their positions and versions, the writing
transaction's id and recorded_at.

`timeline_append` (0001, 0004) keeps its signature and becomes the one-stream
case of `timeline_write`, with no projection rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:00:00.000000
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = 1 << 62
# 'TLAP': the advisory-lock space of idempotency keys, as in 0004.
KEY_LOCK_SPACE = 0x544C4150

POSITION = f"""
CREATE FUNCTION timeline_position(p_position bigint, p_positions bigint[]) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN p_position >= {PENDING} THEN p_positions[p_position - {PENDING}]
              ELSE p_position END
$$
"""

# A view whose last_position is pending ends in `<PENDING + k>}`; anything else
# gives NULL, which the NOT NULL view column refuses.
VIEW = f"""
CREATE FUNCTION timeline_view(p_view text, p_last_position bigint, p_positions bigint[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_last_position < {PENDING} THEN p_view
    WHEN right(p_view, length(p_last_position::text) + 1) = p_last_position::text || '}}'
      THEN left(p_view, -(length(p_last_position::text) + 1))
           || p_positions[p_last_position - {PENDING}]::text || '}}'
  END
$$
"""

_STATE = (
    "timeline, occurred_start, occurred_end, kind, status, actors, place_name, claimant, "
    "cited_sources, search_text, state, last_position, recorded_at, view"
)
_STATE_VALUES = (
    "x.timeline, x.occurred_start, x.occurred_end, x.kind, x.status, x.actors, x.place_name, "
    "x.claimant, x.cited_sources, x.search_text, x.state, "
    "timeline_position(x.last_position, v_positions), x.recorded_at, "
    "timeline_view(x.view, x.last_position, v_positions)"
)
_SOURCE = (
    "source_id, publisher, title, url, published_at, published_at_note, language, via, credits, "
    "status, withdrawn_at, withdrawal_reason, version, recorded_at"
)
_REVISION = (
    "version, recorded_from, recorded_to, known_from, known_to, known_cut_at, position, "
    "event_type, schema_version, event_data, reported_at, event_recorded_at, changes, reason, "
    "citations"
)


def _x(columns: str) -> str:
    return ", ".join(f"x.{c}" for c in columns.split(", "))


_REVISION_VALUES = _x(_REVISION).replace("x.position", "timeline_position(x.position, v_positions)")


def _set(columns: str) -> str:
    return ", ".join(f"{c} = excluded.{c}" for c in columns.split(", "))


WRITE = f"""
CREATE FUNCTION timeline_write(
  p_stream_types text[], p_stream_ids text[], p_expected bigint[], p_metadata jsonb[],
  p_timelines text[], p_event_streams int[], p_types text[], p_schema_versions int[],
  p_data jsonb[], p_reported_at timestamptz[], p_recorded_at timestamptz,
  p_idem_key text, p_idem_hash bytea, p_idem_ttl int,
  p_timeline_rows jsonb, p_source_rows jsonb, p_assertion_rows jsonb,
  p_revision_rows jsonb, p_revision_cuts jsonb
) RETURNS TABLE (replayed boolean, tx_id text, recorded_at timestamptz, positions bigint[],
                 versions bigint[], stream_type text, stream_id text, version bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_key idempotency_keys%ROWTYPE;
  v_expired boolean := false;
  v_current bigint[] := '{{}}';
  v_version bigint;
  v_count int := cardinality(p_types);
  v_recorded timestamptz := coalesce(p_recorded_at, now());
  v_position bigint;
  v_positions bigint[];
  v_versions bigint[];
  v_first bigint[];
BEGIN
  IF v_count IS NULL OR v_count = 0 THEN
    RAISE EXCEPTION 'timeline_write needs at least one event';
  END IF;
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
        RETURN QUERY SELECT true, NULL::text, v_key.recorded_at, v_key.positions,
                            NULL::bigint[], v_key.stream_type, v_key.stream_id, v_key.version;
        RETURN;
      END IF;
      v_expired := true;
    END IF;
  END IF;

  FOR i IN 1 .. cardinality(p_stream_types) LOOP
    SELECT coalesce(max(e.version), 0) INTO v_version FROM events e
     WHERE e.stream_type = p_stream_types[i] AND e.stream_id = p_stream_ids[i];
    IF p_expected[i] IS NOT NULL AND v_version <> p_expected[i] THEN
      RAISE EXCEPTION 'stream %/% is at version %, not %', p_stream_types[i], p_stream_ids[i],
                      v_version, p_expected[i]
        USING ERRCODE = 'TL409',
              DETAIL = json_build_object('stream', i, 'version', v_version)::text;
    END IF;
    v_current := v_current || v_version;
  END LOOP;

  IF v_count = 1 THEN
    INSERT INTO events (stream_type, stream_id, version, type, schema_version, data,
                        metadata, timeline, reported_at, recorded_at)
    VALUES (p_stream_types[p_event_streams[1]], p_stream_ids[p_event_streams[1]],
            v_current[p_event_streams[1]] + 1, p_types[1], p_schema_versions[1], p_data[1],
            p_metadata[p_event_streams[1]], p_timelines[p_event_streams[1]],
            p_reported_at[1], v_recorded)
    RETURNING events.position, events.version INTO v_position, v_version;
    v_positions := ARRAY[v_position];
    v_versions := ARRAY[v_version];
  ELSE
    -- Rows come out of the sort in event order, and take their positions in it.
    WITH inserted AS (
      INSERT INTO events (stream_type, stream_id, version, type, schema_version, data,
                          metadata, timeline, reported_at, recorded_at)
      SELECT p_stream_types[u.s], p_stream_ids[u.s],
             v_current[u.s] + row_number() OVER (PARTITION BY u.s ORDER BY u.n),
             u.type, u.schema_version, u.data, p_metadata[u.s], p_timelines[u.s],
             u.reported_at, v_recorded
        FROM unnest(p_event_streams, p_types, p_schema_versions, p_data, p_reported_at)
             WITH ORDINALITY AS u (s, type, schema_version, data, reported_at, n)
       ORDER BY u.n
      RETURNING events.position, events.version
    )
    SELECT array_agg(i.position ORDER BY i.position), array_agg(i.version ORDER BY i.position)
      INTO v_positions, v_versions FROM inserted i;
  END IF;

  IF p_timeline_rows IS NOT NULL THEN
    INSERT INTO projections.timelines (slug, title, description, region, version, recorded_at,
                                       last_position)
    SELECT x.slug, x.title, x.description, x.region, x.version, x.recorded_at,
           timeline_position(x.last_position, v_positions)
      FROM jsonb_populate_recordset(NULL::projections.timelines, p_timeline_rows) x
    ON CONFLICT (slug) DO UPDATE SET
      {_set("title, description, region, version, recorded_at, last_position")};
  END IF;
  IF p_source_rows IS NOT NULL THEN
    INSERT INTO projections.sources ({_SOURCE}, last_position)
    SELECT {_x(_SOURCE)}, timeline_position(x.last_position, v_positions)
      FROM jsonb_populate_recordset(NULL::projections.sources, p_source_rows) x
    ON CONFLICT (source_id) DO UPDATE SET {_set(_SOURCE.removeprefix("source_id, "))},
      last_position = excluded.last_position;
  END IF;
  IF p_revision_cuts IS NOT NULL THEN
    UPDATE projections.revisions r
       SET recorded_to = c.recorded_to, known_to = c.known_to, known_cut_at = c.known_cut_at
      FROM jsonb_to_recordset(p_revision_cuts) AS c (assertion_id text, version bigint,
           recorded_from timestamptz, recorded_to timestamptz, known_to timestamptz,
           known_cut_at timestamptz)
     WHERE r.assertion_id = c.assertion_id AND r.version = c.version
       AND r.recorded_from = c.recorded_from;
  END IF;
  IF p_revision_rows IS NOT NULL THEN
    INSERT INTO projections.revisions (assertion_id, {_REVISION}, {_STATE})
    SELECT x.assertion_id, {_REVISION_VALUES}, {_STATE_VALUES}
      FROM jsonb_populate_recordset(NULL::projections.revisions, p_revision_rows) x;
  END IF;
  IF p_assertion_rows IS NOT NULL THEN
    INSERT INTO projections.assertions (assertion_id, {_STATE})
    SELECT x.assertion_id, {_STATE_VALUES}
      FROM jsonb_populate_recordset(NULL::projections.assertions, p_assertion_rows) x
    ON CONFLICT (assertion_id) DO UPDATE SET {_set(_STATE)};
  END IF;

  -- The key's result is the first stream's: the command's own.
  IF cardinality(p_stream_types) = 1 THEN
    v_version := v_current[1] + v_count;
    v_first := v_positions;
  ELSE
    v_version := v_current[1] + cardinality(array_positions(p_event_streams, 1));
  END IF;
  IF p_idem_key IS NOT NULL THEN
    IF v_first IS NULL THEN
      v_first := ARRAY(SELECT v_positions[i] FROM unnest(array_positions(p_event_streams, 1)) i);
    END IF;
    IF v_expired THEN
      UPDATE idempotency_keys k
         SET request_hash = p_idem_hash, stream_type = p_stream_types[1],
             stream_id = p_stream_ids[1], version = v_version, positions = v_first,
             recorded_at = v_recorded, created_at = now()
       WHERE k.key = p_idem_key;
    ELSE
      INSERT INTO idempotency_keys (key, request_hash, stream_type, stream_id, version,
                                    positions, recorded_at)
      VALUES (p_idem_key, p_idem_hash, p_stream_types[1], p_stream_ids[1], v_version, v_first,
              v_recorded);
    END IF;
  END IF;
  RETURN QUERY SELECT false, pg_current_xact_id()::text, v_recorded, v_positions, v_versions,
                      p_stream_types[1], p_stream_ids[1], v_version;
END $$
"""

# plpgsql, not sql: PostgreSQL plans a sql function's body again on every call.
APPEND = """
CREATE FUNCTION timeline_append(
  p_stream_type text, p_stream_id text, p_expected bigint,
  p_types text[], p_schema_versions int[], p_data jsonb[], p_reported_at timestamptz[],
  p_metadata jsonb, p_timeline text, p_idem_key text, p_idem_hash bytea, p_idem_ttl int
) RETURNS TABLE (replayed boolean, stream_type text, stream_id text, version bigint,
                 positions bigint[], recorded_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  SELECT w.replayed, w.stream_type, w.stream_id, w.version, w.positions, w.recorded_at
    FROM timeline_write(ARRAY[p_stream_type], ARRAY[p_stream_id], ARRAY[p_expected],
                        ARRAY[p_metadata], ARRAY[p_timeline],
                        array_fill(1, ARRAY[cardinality(p_types)]), p_types,
                        p_schema_versions, p_data, p_reported_at, NULL,
                        p_idem_key, p_idem_hash, p_idem_ttl, NULL, NULL, NULL, NULL, NULL) w;
END $$
"""


def _append_0004() -> str:
    path = Path(__file__).with_name("20261125_0004_leaner_append.py")
    spec = importlib.util.spec_from_file_location("leaner_append_0004", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.APPEND)


def upgrade() -> None:
    op.execute(POSITION)
    op.execute(VIEW)
    op.execute(WRITE)
    op.execute("DROP FUNCTION timeline_append")
    op.execute(APPEND)


def downgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    op.execute(_append_0004())
    op.execute("DROP FUNCTION timeline_write")
    op.execute("DROP FUNCTION timeline_view")
    op.execute("DROP FUNCTION timeline_position")
