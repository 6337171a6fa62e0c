-- timeline_purge_idempotency_keys, version 1 (migration 0008): delete at most p_limit keys
-- older than p_ttl seconds, oldest first, and say how many went. Called in autocommit, each
-- call is one short transaction: its transaction id holds the feed's horizon back only for
-- that batch (the feed serves transactions older than the oldest still running), so a purge
-- of millions of keys never stalls the feed, however long the whole purge takes.
-- SKIP LOCKED: a key a writer is taking over right now is left to it; the DELETE checks the
-- age again, so a key renewed since the SELECT is kept.
CREATE FUNCTION timeline_purge_idempotency_keys(p_ttl int, p_limit int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  v_cutoff timestamptz := now() - make_interval(secs => p_ttl);
  v_count int;
BEGIN
  WITH doomed AS (
    SELECT k.owner, k.key FROM idempotency_keys k
     WHERE k.created_at < v_cutoff
     ORDER BY k.created_at LIMIT p_limit
     FOR UPDATE SKIP LOCKED
  )
  DELETE FROM idempotency_keys k USING doomed d
   WHERE k.owner = d.owner AND k.key = d.key AND k.created_at < v_cutoff;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END $$;
