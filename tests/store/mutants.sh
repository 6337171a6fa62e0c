#!/bin/bash
# Run by hand, never by pytest: bash tests/store/mutants.sh (~3 min).
# One mutant per guarantee: a fresh copy of HEAD, one edit, the guarantee's tests.
set -u
export TIMELINE_TEST_DATABASE_URL=${TIMELINE_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mutant() {
  name=$1; file=$2; python_edit=$3; tests=$4
  dir=/tmp/mutants/$name; rm -rf $dir; mkdir -p $dir
  (cd $ROOT && git archive HEAD) | tar -x -C $dir
  (cd $dir && python3 -c "
import sys; p='$file'; s=open(p).read(); old, new = sys.argv[1], sys.argv[2]
assert old in s, 'edit not applicable'; open(p,'w').write(s.replace(old, new))" "${python_edit%%|||*}" "${python_edit##*|||}") || { echo "$name: EDIT FAILED"; return; }
  out=$(cd $dir && PYTHONPATH=$dir/src:$dir timeout 400 $ROOT/.venv/bin/pytest $tests -q -p no:cacheprovider -x 2>&1 | tail -1)
  echo "$name: $out"
}
M=src/timeline/migrations/versions/20261125_0001_event_store.py
I=src/timeline/migrations/sql/timeline_events_are_immutable.v1.sql
# The write as it stands: the newest timeline_write file, loaded by the newest migration.
A=src/timeline/migrations/sql/timeline_write.v2.sql
K=src/timeline/migrations/sql/timeline_purge_idempotency_keys.v1.sql
P=src/timeline/migrations/sql/timeline_position.v1.sql
mutant no_trigger $M '    run_sql("timeline_events_are_immutable.v1")|||' tests/store/test_immutable.py
mutant no_always $I 'ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_delete;|||' tests/store/test_immutable.py
mutant no_occ $A '    IF p_expected[i] IS NOT NULL AND v_version <> p_expected[i] THEN|||    IF false THEN' tests/store/test_concurrency.py
mutant no_unique $M '        sa.UniqueConstraint(
            "stream_type", "stream_id", "version", name="events_stream_version_key"
        ),|||' tests/store/test_concurrency.py
mutant no_idempotency $A '  IF p_idem_key IS NOT NULL THEN
    -- A concurrent|||  IF false THEN
    -- A concurrent' tests/store/test_idempotency.py
mutant no_key_hash_check $A '      IF v_key.request_hash <> p_idem_hash THEN|||      IF false THEN' tests/store/test_idempotency.py
mutant no_key_lock $A '    PERFORM pg_advisory_xact_lock|||    -- PERFORM pg_advisory_xact_lock' "tests/store/test_idempotency.py tests/store/test_key_lock.py"
mutant key_not_scoped $A '    SELECT * INTO v_key FROM idempotency_keys k WHERE k.owner = v_owner AND k.key = p_idem_key;|||    SELECT * INTO v_key FROM idempotency_keys k WHERE k.key = p_idem_key;' tests/store/test_idempotency.py
mutant owner_not_sent src/timeline/api/writes.py '        idempotency_owner=actor or "",|||        idempotency_owner="",' tests/api/test_idempotency_keys.py
mutant purge_ignores_ttl $K '  v_cutoff timestamptz := now() - make_interval(secs => p_ttl);|||  v_cutoff timestamptz := now();' tests/store/test_idempotency_purge.py
mutant purge_one_transaction src/timeline/store/idempotency.py '    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")|||    autocommit = engine.execution_options(isolation_level="REPEATABLE READ")' tests/store/test_idempotency_purge.py
mutant append_commits src/timeline/store/append.py '        (row,) = await fetch(conn, _WRITE, *args)|||        (row,) = await fetch(conn, _WRITE, *args)
        await conn.commit()' tests/store/test_atomic.py
mutant driver_outside_transaction src/timeline/store/db.py '            await start()|||            pass' "tests/store/test_atomic.py tests/store/test_driver_transaction.py"
mutant no_horizon src/timeline/store/feed.py 'f"tx_id < {HORIZON}",|||"true",' "tests/store/test_feed.py -k busy"
# The horizon is one SQL function (0012), read by the feed, the hub and the rebuild.
H=src/timeline/migrations/sql/timeline_feed_horizon.v1.sql
mutant horizon_ignores_database $H '      AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))|||      )' "tests/store/test_feed.py -k busy"
mutant horizon_ignores_database_feed $H '      AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))|||      )' "tests/feed/test_horizon.py"
mutant order_by_position src/timeline/store/feed.py '"ORDER BY events.tx_id, events.position LIMIT $3"|||"ORDER BY events.position LIMIT $3"' "tests/store/test_feed.py"
mutant foreign_cursor src/timeline/store/cursor.py '    if prefix != _prefix(store_id):|||    if False:' "tests/store/test_feed.py"
mutant no_upcaster src/timeline/domain/upcast.py '@upcaster("AssertionRecorded", 0)|||' tests/store/test_upcast.py
# The command runner and its one write (0007).
mutant pending_kept $P '  SELECT CASE WHEN p_position >= 4611686018427387904 THEN|||  SELECT CASE WHEN false THEN' "tests/store/test_write.py tests/api/test_writes.py"
mutant no_reaction src/timeline/commands/writer.py '                if reaction.events:|||                if False:' "tests/commands/test_runner.py tests/api/test_writes.py"
mutant own_clock src/timeline/commands/writer.py '                recorded_at=loaded.read.clock,|||                recorded_at=None,' "tests/projections/test_property.py"
mutant no_replay_on_refusal src/timeline/commands/writer.py '                if (first := await self._first_result(conn, ctx)) is not None:|||                if False:' "tests/commands/test_runner.py tests/api/test_writes.py"
mutant view_read_back src/timeline/api/writes.py '    body: Any = None if result.view is None else msgspec.Raw(result.view)|||    body: Any = None' "tests/api/test_writes.py"
mutant no_if_match src/timeline/commands/writer.py '                    raise StaleVersion(expected, loaded.version)|||                    pass' "tests/commands"
# The relay: resumes where it left off, retries a failed publish, one relay per stream.
R=src/timeline/relay/publish.py
mutant relay_resumes_from_start $R '        return last
|||        return None
' "tests/relay/test_exactly_once.py -k killed"
mutant relay_no_retry $R '                await asyncio.sleep(backoff(failures))
        self.cursor = cursor|||                break
        self.cursor = cursor' "tests/relay/test_failover.py -k was_lost"
mutant relay_no_lock src/timeline/relay/checkpoint.py '    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(name)))|||    return True' "tests/relay/test_failover.py -k takes_over"
# Reads on a standby (tests/replica): the feed's horizon, the answers' snapshots and finality.
mutant standby_horizon_from_xip $H '  SELECT CASE WHEN pg_is_in_recovery() THEN|||  SELECT CASE WHEN false THEN' "tests/replica/test_standby.py -k holds_back"
mutant standby_snapshot_as_is src/timeline/projections/freshness.py '    f"(CASE WHEN pg_is_in_recovery() THEN {_XMIN}|||    f"(CASE WHEN false THEN {_XMIN}' "tests/replica/test_standby.py -k open_when"
mutant standby_final src/timeline/projections/freshness.py '    "AND NOT pg_is_in_recovery()"|||    "AND true"' "tests/replica/test_standby.py -k never_final"
mutant min_position_ignored src/timeline/api/replicas.py '    if position is None or state.read_engine is None:|||    if True:' "tests/replica/test_standby.py -k min_position"
# The verifiable log (docs/log.md).
L=src/timeline/tlog/sequencer.py
mutant log_signs_unchecked $L '        if signed is not None:
            await check_consistent(|||        if False:
            await check_consistent(' "tests/tlog/test_sequencer.py -k never_signed"
mutant log_unlocked $L '        await conn.execute("SELECT pg_advisory_xact_lock($1)", store.INTEGRATE_LOCK)|||' "tests/tlog/test_sequencer.py -k concurrent"
mutant log_leaf_not_the_line $L '    return line[:-1]|||    return line' "tests/tlog/test_sequencer.py -k export_line"
mutant log_tables_mutable src/timeline/migrations/sql/timeline_log_is_append_only.v1.sql 'BEGIN
  RAISE EXCEPTION|||BEGIN
  RETURN NULL;
  RAISE EXCEPTION' "tests/tlog/test_sequencer.py -k refuse_updates"
mutant verify_trusts_the_export src/timeline/tlog/verify.py '        elif _root(export.leaves[: cp.size]) != cp.root:|||        elif False:' "tests/tlog/test_verify.py"
mutant log_every_process_sequences $L '                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", store.SEQUENCER_LOCK):|||                if True:' "tests/tlog/test_sequencer.py -k several"
