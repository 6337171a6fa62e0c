-- timeline_append, version 4 (migration 0008): the one-stream case of timeline_write v2,
-- with no projection rows and keys of no owner (''); same signature as versions 2 and 3.
-- plpgsql, not sql: PostgreSQL plans a sql function's body again on every call.
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
                        p_idem_key, '', p_idem_hash, p_idem_ttl,
                        NULL, NULL, NULL, NULL, NULL) w;
END $$;
