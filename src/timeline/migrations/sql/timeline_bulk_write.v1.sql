-- timeline_bulk_staging and timeline_bulk_write, version 1 (migration 0013): the set-based
-- write of a batch of assertion streams (a dataset release, a thousand rows a call).
--
-- The caller COPYs the batch into session-local staging tables (timeline_bulk_staging makes
-- them, ON COMMIT DELETE ROWS) and calls timeline_bulk_write in the same transaction:
-- - bulk_events: one row per event, `n` its place in the write (1..count), `expected` the
--   version its stream was read at (every event of a stream carries the same);
-- - bulk_revisions: the revision rows to insert, as projections.revisions holds them but
--   with event_data NULL for the batch's own events (it is taken from bulk_events: each
--   event's content crosses the wire once);
-- - bulk_assertions: the current rows, either `from_version` (the same state as the batch's
--   new live revision row of that version, copied from it) or written out in full;
-- - bulk_cuts: revision rows whose intervals are cut or closed;
-- - bulk_dataset_rows: the dataset row hashes the batch's current rows now answer for.
-- Positions are PENDING + n (PENDING = 2^62) until the events are inserted, as in
-- timeline_write (migration 0007); the same timeline_position and timeline_view resolve them.
-- Stream versions are checked by one join: a stream elsewhere than `expected` raises TL409
-- (DETAIL names it); two writers racing past the check meet the unique
-- (stream_type, stream_id, version) constraint. Positions follow `n`, in one transaction, so
-- the feed's horizon (tx_id) covers them as it covers any write.
CREATE FUNCTION timeline_bulk_staging() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF to_regclass('pg_temp.bulk_dataset_rows') IS NOT NULL THEN
    RETURN;  -- made earlier in this session
  END IF;
  CREATE TEMP TABLE IF NOT EXISTS bulk_events (
    n int NOT NULL, stream_type text NOT NULL, stream_id text NOT NULL, expected bigint NOT NULL,
    type text NOT NULL, schema_version smallint NOT NULL, data jsonb NOT NULL, timeline text,
    reported_at timestamptz
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS bulk_revisions (
    assertion_id text, version bigint, recorded_from timestamptz, recorded_to timestamptz,
    known_from timestamptz, known_to timestamptz, known_cut_at timestamptz, position bigint,
    event_type text, schema_version bigint, event_data jsonb, reported_at timestamptz,
    event_recorded_at timestamptz, changes jsonb, reason text, citations jsonb, timeline text,
    occurred_start date, occurred_end date, kind text, status text, actors text[],
    place_name text, claimant text, cited_sources text[], search_text text, state jsonb,
    last_position bigint, recorded_at timestamptz, view text
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS bulk_assertions (
    assertion_id text, from_version bigint, timeline text, occurred_start date,
    occurred_end date, kind text, status text, actors text[], place_name text, claimant text,
    cited_sources text[], search_text text, state jsonb, last_position bigint,
    recorded_at timestamptz, view text
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS bulk_cuts (
    assertion_id text, version bigint, recorded_from timestamptz, recorded_to timestamptz,
    known_to timestamptz, known_cut_at timestamptz
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS bulk_dataset_rows (
    timeline text, dataset text, row_id text, assertion_id text, row_hash bytea,
    last_position bigint
  ) ON COMMIT DELETE ROWS;
END $$;

CREATE FUNCTION timeline_bulk_write(p_metadata jsonb, p_recorded_at timestamptz)
RETURNS TABLE (tx_id text, recorded_at timestamptz, positions bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_recorded timestamptz := coalesce(p_recorded_at, now());
  v_positions bigint[];
  v_bad record;
BEGIN
  SELECT w.stream_type, w.stream_id, w.expected, coalesce(m.version, 0) AS actual INTO v_bad
    FROM (SELECT DISTINCT b.stream_type, b.stream_id, b.expected FROM bulk_events b) w
    LEFT JOIN LATERAL (SELECT max(e.version) AS version FROM events e
                        WHERE e.stream_type = w.stream_type AND e.stream_id = w.stream_id) m
      ON true
   WHERE coalesce(m.version, 0) <> w.expected
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'stream %/% is at version %, not %', v_bad.stream_type, v_bad.stream_id,
                    v_bad.actual, v_bad.expected
      USING ERRCODE = 'TL409',
            DETAIL = json_build_object('stream_type', v_bad.stream_type,
                                       'stream_id', v_bad.stream_id,
                                       'version', v_bad.actual)::text;
  END IF;

  -- Rows come out of the sort in write order, and take their positions in it.
  WITH inserted AS (
    INSERT INTO events (stream_type, stream_id, version, type, schema_version, data,
                        metadata, timeline, reported_at, recorded_at)
    SELECT b.stream_type, b.stream_id,
           b.expected + row_number() OVER (PARTITION BY b.stream_type, b.stream_id ORDER BY b.n),
           b.type, b.schema_version, b.data, p_metadata, b.timeline, b.reported_at, v_recorded
      FROM bulk_events b
     ORDER BY b.n
    RETURNING events.position
  )
  SELECT array_agg(i.position ORDER BY i.position) INTO v_positions FROM inserted i;

  UPDATE projections.revisions r
     SET recorded_to = c.recorded_to, known_to = c.known_to, known_cut_at = c.known_cut_at
    FROM bulk_cuts c
   WHERE r.assertion_id = c.assertion_id AND r.version = c.version
     AND r.recorded_from = c.recorded_from;

  INSERT INTO projections.revisions (assertion_id, version, recorded_from, recorded_to,
    known_from, known_to, known_cut_at, position, event_type, schema_version, event_data,
    reported_at, event_recorded_at, changes, reason, citations, timeline, occurred_start,
    occurred_end, kind, status, actors, place_name, claimant, cited_sources, search_text, state,
    last_position, recorded_at, view)
  SELECT x.assertion_id, x.version, x.recorded_from, x.recorded_to, x.known_from, x.known_to,
         x.known_cut_at, timeline_position(x.position, v_positions), x.event_type,
         x.schema_version, coalesce(x.event_data, b.data), x.reported_at, x.event_recorded_at,
         x.changes, x.reason, x.citations, x.timeline, x.occurred_start, x.occurred_end, x.kind,
         x.status, x.actors, x.place_name, x.claimant, x.cited_sources, x.search_text, x.state,
         timeline_position(x.last_position, v_positions), x.recorded_at,
         timeline_view(x.view, x.last_position, v_positions)
    FROM bulk_revisions x
    LEFT JOIN bulk_events b
      ON x.event_data IS NULL AND b.n = x.position - 4611686018427387904;

  INSERT INTO projections.assertions AS t (assertion_id, timeline, occurred_start, occurred_end,
    kind, status, actors, place_name, claimant, cited_sources, search_text, state,
    last_position, recorded_at, view)
  SELECT a.assertion_id, r.timeline, r.occurred_start, r.occurred_end, r.kind, r.status,
         r.actors, r.place_name, r.claimant, r.cited_sources, r.search_text, r.state,
         timeline_position(r.last_position, v_positions), r.recorded_at,
         timeline_view(r.view, r.last_position, v_positions)
    FROM bulk_assertions a
    JOIN bulk_revisions r ON r.assertion_id = a.assertion_id AND r.version = a.from_version
                         AND r.recorded_to IS NULL
   WHERE a.from_version IS NOT NULL
  UNION ALL
  SELECT a.assertion_id, a.timeline, a.occurred_start, a.occurred_end, a.kind, a.status,
         a.actors, a.place_name, a.claimant, a.cited_sources, a.search_text, a.state,
         timeline_position(a.last_position, v_positions), a.recorded_at,
         timeline_view(a.view, a.last_position, v_positions)
    FROM bulk_assertions a
   WHERE a.from_version IS NULL
  ON CONFLICT (assertion_id) DO UPDATE SET timeline = excluded.timeline,
    occurred_start = excluded.occurred_start, occurred_end = excluded.occurred_end,
    kind = excluded.kind, status = excluded.status, actors = excluded.actors,
    place_name = excluded.place_name, claimant = excluded.claimant,
    cited_sources = excluded.cited_sources, search_text = excluded.search_text,
    state = excluded.state, last_position = excluded.last_position,
    recorded_at = excluded.recorded_at, view = excluded.view;

  INSERT INTO dataset_rows AS d (timeline, dataset, row_id, assertion_id, row_hash,
                                 last_position)
  SELECT h.timeline, h.dataset, h.row_id, h.assertion_id, h.row_hash,
         timeline_position(h.last_position, v_positions)
    FROM bulk_dataset_rows h
  ON CONFLICT (timeline, dataset, row_id) DO UPDATE SET assertion_id = excluded.assertion_id,
    row_hash = excluded.row_hash, last_position = excluded.last_position;

  RETURN QUERY SELECT pg_current_xact_id()::text, v_recorded, v_positions;
END $$;
