-- timeline_append, version 1 (migration 0001). One round trip per append: the idempotency
-- record, the optimistic concurrency check and the insert. The unique (stream_type,
-- stream_id, version) constraint settles races between writers that read the same version.
CREATE FUNCTION timeline_append(
  p_stream_type text, p_stream_id text, p_expected bigint,
  p_types text[], p_schema_versions int[], p_data text[], p_reported_at timestamptz[],
  p_metadata text, p_timeline text, p_idem_key text, p_idem_hash bytea, p_idem_ttl int
) RETURNS TABLE (replayed boolean, stream_type text, stream_id text, version bigint,
                 positions bigint[], recorded_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  v_key idempotency_keys%ROWTYPE;
  v_current bigint;
  v_positions bigint[];
  v_recorded timestamptz;
BEGIN
  IF p_idem_key IS NOT NULL THEN
    -- A concurrent first use of the same key blocks here until it ends.
    INSERT INTO idempotency_keys AS k (key, request_hash, stream_type, stream_id)
    VALUES (p_idem_key, p_idem_hash, p_stream_type, p_stream_id)
    ON CONFLICT (key) DO UPDATE
      SET request_hash = excluded.request_hash, stream_type = excluded.stream_type,
          stream_id = excluded.stream_id, version = NULL, positions = NULL,
          recorded_at = NULL, created_at = now()
      WHERE k.created_at < now() - make_interval(secs => p_idem_ttl);
    IF NOT FOUND THEN
      SELECT * INTO v_key FROM idempotency_keys k WHERE k.key = p_idem_key;
      IF v_key.request_hash <> p_idem_hash THEN
        RAISE EXCEPTION 'idempotency key % was used for a different request', p_idem_key
          USING ERRCODE = 'TL422';
      END IF;
      RETURN QUERY SELECT true, v_key.stream_type, v_key.stream_id, v_key.version,
                          v_key.positions, v_key.recorded_at;
      RETURN;
    END IF;
  END IF;

  SELECT coalesce(max(e.version), 0) INTO v_current FROM events e
   WHERE e.stream_type = p_stream_type AND e.stream_id = p_stream_id;
  IF p_expected IS NOT NULL AND v_current <> p_expected THEN
    RAISE EXCEPTION 'stream %/% is at version %, not %', p_stream_type, p_stream_id,
                    v_current, p_expected
      USING ERRCODE = 'TL409', DETAIL = v_current::text;
  END IF;

  WITH inserted AS (
    INSERT INTO events (stream_type, stream_id, version, type, schema_version, data,
                        metadata, timeline, reported_at)
    SELECT p_stream_type, p_stream_id, v_current + i, p_types[i], p_schema_versions[i],
           p_data[i]::jsonb, p_metadata::jsonb, p_timeline, p_reported_at[i]
      FROM generate_subscripts(p_types, 1) AS i
     ORDER BY i
    RETURNING events.position, events.recorded_at
  )
  SELECT array_agg(inserted.position ORDER BY inserted.position), min(inserted.recorded_at)
    INTO v_positions, v_recorded FROM inserted;

  IF p_idem_key IS NOT NULL THEN
    UPDATE idempotency_keys k
       SET version = v_current + cardinality(p_types), positions = v_positions,
           recorded_at = v_recorded
     WHERE k.key = p_idem_key;
  END IF;
  RETURN QUERY SELECT false, p_stream_type, p_stream_id, v_current + cardinality(p_types),
                      v_positions, v_recorded;
END $$;
