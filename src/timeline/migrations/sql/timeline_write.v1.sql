-- timeline_write, version 1 (migration 0007): a whole write in one statement: the
-- idempotency key under an advisory lock (lock space 'TLAP' = 0x544C4150 = 1414283600),
-- the optimistic-concurrency check of every stream, the events, the projection rows
-- (PENDING = 2^62 = 4611686018427387904 marks a position not yet assigned) and the key row.
-- The migration's docstring says what each part promises.
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
  v_current bigint[] := '{}';
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
    PERFORM pg_advisory_xact_lock(1414283600, hashtext(p_idem_key));
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
      title = excluded.title, description = excluded.description, region = excluded.region, version = excluded.version, recorded_at = excluded.recorded_at, last_position = excluded.last_position;
  END IF;
  IF p_source_rows IS NOT NULL THEN
    INSERT INTO projections.sources (source_id, publisher, title, url, published_at, published_at_note, language, via, credits, status, withdrawn_at, withdrawal_reason, version, recorded_at, last_position)
    SELECT x.source_id, x.publisher, x.title, x.url, x.published_at, x.published_at_note, x.language, x.via, x.credits, x.status, x.withdrawn_at, x.withdrawal_reason, x.version, x.recorded_at, timeline_position(x.last_position, v_positions)
      FROM jsonb_populate_recordset(NULL::projections.sources, p_source_rows) x
    ON CONFLICT (source_id) DO UPDATE SET publisher = excluded.publisher, title = excluded.title, url = excluded.url, published_at = excluded.published_at, published_at_note = excluded.published_at_note, language = excluded.language, via = excluded.via, credits = excluded.credits, status = excluded.status, withdrawn_at = excluded.withdrawn_at, withdrawal_reason = excluded.withdrawal_reason, version = excluded.version, recorded_at = excluded.recorded_at,
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
    INSERT INTO projections.revisions (assertion_id, version, recorded_from, recorded_to, known_from, known_to, known_cut_at, position, event_type, schema_version, event_data, reported_at, event_recorded_at, changes, reason, citations, timeline, occurred_start, occurred_end, kind, status, actors, place_name, claimant, cited_sources, search_text, state, last_position, recorded_at, view)
    SELECT x.assertion_id, x.version, x.recorded_from, x.recorded_to, x.known_from, x.known_to, x.known_cut_at, timeline_position(x.position, v_positions), x.event_type, x.schema_version, x.event_data, x.reported_at, x.event_recorded_at, x.changes, x.reason, x.citations, x.timeline, x.occurred_start, x.occurred_end, x.kind, x.status, x.actors, x.place_name, x.claimant, x.cited_sources, x.search_text, x.state, timeline_position(x.last_position, v_positions), x.recorded_at, timeline_view(x.view, x.last_position, v_positions)
      FROM jsonb_populate_recordset(NULL::projections.revisions, p_revision_rows) x;
  END IF;
  IF p_assertion_rows IS NOT NULL THEN
    INSERT INTO projections.assertions (assertion_id, timeline, occurred_start, occurred_end, kind, status, actors, place_name, claimant, cited_sources, search_text, state, last_position, recorded_at, view)
    SELECT x.assertion_id, x.timeline, x.occurred_start, x.occurred_end, x.kind, x.status, x.actors, x.place_name, x.claimant, x.cited_sources, x.search_text, x.state, timeline_position(x.last_position, v_positions), x.recorded_at, timeline_view(x.view, x.last_position, v_positions)
      FROM jsonb_populate_recordset(NULL::projections.assertions, p_assertion_rows) x
    ON CONFLICT (assertion_id) DO UPDATE SET timeline = excluded.timeline, occurred_start = excluded.occurred_start, occurred_end = excluded.occurred_end, kind = excluded.kind, status = excluded.status, actors = excluded.actors, place_name = excluded.place_name, claimant = excluded.claimant, cited_sources = excluded.cited_sources, search_text = excluded.search_text, state = excluded.state, last_position = excluded.last_position, recorded_at = excluded.recorded_at, view = excluded.view;
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
END $$;
