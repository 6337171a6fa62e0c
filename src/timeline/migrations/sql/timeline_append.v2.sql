-- timeline_append, version 2 (migration 0004): the idempotency key written once, after the
-- events, under a transaction-scoped advisory lock ('TLAP' = 0x544C4150 = 1414283600, the
-- lock space of idempotency keys); a one-event fast path; data and metadata as jsonb.
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
    PERFORM pg_advisory_xact_lock(1414283600, hashtext(p_idem_key));
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
