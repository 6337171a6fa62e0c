-- The verifiable log's tables are append-only (migration 0009), as events are:
-- an UPDATE, DELETE or TRUNCATE of log_leaves, log_nodes or log_checkpoints fails.
CREATE FUNCTION timeline_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'TL403';
END $$;
CREATE TRIGGER log_leaves_no_update_delete BEFORE UPDATE OR DELETE ON log_leaves
  FOR EACH ROW EXECUTE FUNCTION timeline_log_is_append_only();
CREATE TRIGGER log_leaves_no_truncate BEFORE TRUNCATE ON log_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION timeline_log_is_append_only();
CREATE TRIGGER log_nodes_no_update_delete BEFORE UPDATE OR DELETE ON log_nodes
  FOR EACH ROW EXECUTE FUNCTION timeline_log_is_append_only();
CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION timeline_log_is_append_only();
CREATE TRIGGER log_checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON log_checkpoints
  FOR EACH ROW EXECUTE FUNCTION timeline_log_is_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION timeline_log_is_append_only();
-- ALWAYS, as for events: session_replication_role = replica skips plain triggers.
ALTER TABLE log_leaves ENABLE ALWAYS TRIGGER log_leaves_no_update_delete;
ALTER TABLE log_leaves ENABLE ALWAYS TRIGGER log_leaves_no_truncate;
ALTER TABLE log_nodes ENABLE ALWAYS TRIGGER log_nodes_no_update_delete;
ALTER TABLE log_nodes ENABLE ALWAYS TRIGGER log_nodes_no_truncate;
ALTER TABLE log_checkpoints ENABLE ALWAYS TRIGGER log_checkpoints_no_update_delete;
ALTER TABLE log_checkpoints ENABLE ALWAYS TRIGGER log_checkpoints_no_truncate;
