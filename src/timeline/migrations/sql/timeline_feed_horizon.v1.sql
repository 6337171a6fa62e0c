-- timeline_feed_horizon, version 1 (migration 0012): the first transaction id that may
-- still be running here; every event of an older transaction is settled. The one
-- definition the feed, its hub and `timeline rebuild` read (store/feed.py).
-- Transaction ids are the cluster's: a running transaction the activity list shows
-- connected to another database cannot write these events, so it does not hold the
-- feed back; any other (this database's, a prepared one, one whose owner this role may
-- not see, one that has just ended) does, so the test errs only towards waiting.
-- On a hot standby pg_current_snapshot() lists no running transaction (recovery keeps
-- them where pg_snapshot does not look), so there the horizon is the snapshot's xmin.
-- STABLE: evaluated once per scan, so `tx_id < timeline_feed_horizon()` bounds an index
-- scan of events_feed_idx as the subquery it replaces did.
CREATE OR REPLACE FUNCTION public.timeline_feed_horizon() RETURNS xid8
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(snap.s) ELSE coalesce((
    SELECT min(x) FROM pg_snapshot_xip(snap.s) AS x WHERE NOT EXISTS (
      SELECT 1 FROM pg_stat_get_activity(NULL) AS a WHERE a.backend_xid = x::xid
      AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))
  ), pg_snapshot_xmax(snap.s)) END
  FROM (SELECT pg_current_snapshot() AS s) AS snap
$$;
