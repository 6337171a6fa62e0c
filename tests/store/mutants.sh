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
M=migrations/versions/20261125_0001_event_store.py
# The append as it stands: 0007's timeline_write (0004 replaced 0001's, 0007 replaced 0004's).
A=migrations/versions/20261201_0007_one_write.py
mutant no_trigger $M '    for statement in IMMUTABLE:
        op.execute(statement)|||' tests/store/test_immutable.py
mutant no_always $M '    "ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_delete",|||' tests/store/test_immutable.py
mutant no_occ $A '    IF p_expected[i] IS NOT NULL AND v_version <> p_expected[i] THEN|||    IF false THEN' tests/store/test_concurrency.py
mutant no_unique $M '        sa.UniqueConstraint(
            "stream_type", "stream_id", "version", name="events_stream_version_key"
        ),|||' tests/store/test_concurrency.py
mutant no_idempotency $A '  IF p_idem_key IS NOT NULL THEN
    -- A concurrent|||  IF false THEN
    -- A concurrent' tests/store/test_idempotency.py
mutant no_key_hash_check $A '      IF v_key.request_hash <> p_idem_hash THEN|||      IF false THEN' tests/store/test_idempotency.py
mutant no_key_lock $A '    PERFORM pg_advisory_xact_lock|||    -- PERFORM pg_advisory_xact_lock' "tests/store/test_idempotency.py tests/store/test_key_lock.py"
mutant append_commits src/timeline/store/append.py '        (row,) = await fetch(conn, _WRITE, *args)|||        (row,) = await fetch(conn, _WRITE, *args)
        await conn.commit()' tests/store/test_atomic.py
mutant driver_outside_transaction src/timeline/store/db.py '            await start()|||            pass' "tests/store/test_atomic.py tests/store/test_driver_transaction.py"
mutant no_horizon src/timeline/store/feed.py 'f"tx_id < {HORIZON}",|||"true",' "tests/store/test_feed.py -k busy"
mutant horizon_ignores_database src/timeline/store/feed.py '"AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))"|||")"' "tests/store/test_feed.py -k busy"
mutant order_by_position src/timeline/store/feed.py '"ORDER BY events.tx_id, events.position LIMIT :limit"|||"ORDER BY events.position LIMIT :limit"' "tests/store/test_feed.py"
mutant foreign_cursor src/timeline/store/cursor.py '    if prefix != _prefix(store_id):|||    if False:' "tests/store/test_feed.py"
mutant no_upcaster src/timeline/domain/upcast.py '@upcaster("AssertionRecorded", 0)|||' tests/store/test_upcast.py
# The command runner and its one write (0007).
mutant pending_kept $A '  SELECT CASE WHEN p_position >= {PENDING} THEN p_positions[p_position - {PENDING}]|||  SELECT CASE WHEN false THEN p_positions[p_position - {PENDING}]' "tests/store/test_write.py tests/api/test_writes.py"
mutant no_reaction src/timeline/commands/writer.py '                if reaction.events:|||                if False:' "tests/commands/test_runner.py tests/api/test_writes.py"
mutant own_clock src/timeline/commands/writer.py '                recorded_at=loaded.read.clock,|||                recorded_at=None,' "tests/projections/test_property.py"
mutant no_replay_on_refusal src/timeline/commands/writer.py '                if (first := await self._first_result(conn, ctx)) is not None:|||                if False:' "tests/commands/test_runner.py tests/api/test_writes.py"
mutant view_read_back src/timeline/api/writes.py '    body: Any = None if result.view is None else msgspec.Raw(result.view)|||    body: Any = None' "tests/api/test_writes.py"
mutant no_if_match src/timeline/commands/writer.py '                    raise StaleVersion(expected, loaded.version)|||                    pass' "tests/commands"
# The verifiable log (docs/log.md).
L=src/timeline/tlog/sequencer.py
mutant log_signs_unchecked $L '        if signed is not None:
            await check_consistent(|||        if False:
            await check_consistent(' "tests/tlog/test_sequencer.py -k never_signed"
mutant log_unlocked $L '        await conn.execute("SELECT pg_advisory_xact_lock($1)", store.INTEGRATE_LOCK)|||' "tests/tlog/test_sequencer.py -k concurrent"
mutant log_leaf_not_the_line $L '    return line[:-1]|||    return line' "tests/tlog/test_sequencer.py -k export_line"
mutant log_tables_mutable migrations/versions/20261201_0009_log.py '    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete|||    for table in ():
        op.execute(
            f"CREATE TRIGGER {table}_no_update_delete' "tests/tlog/test_sequencer.py -k refuse_updates"
mutant verify_trusts_the_export src/timeline/tlog/verify.py '        elif _root(export.leaves[: cp.size]) != cp.root:|||        elif False:' "tests/tlog/test_verify.py"
mutant log_every_process_sequences $L '                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", store.SEQUENCER_LOCK):|||                if True:' "tests/tlog/test_sequencer.py -k several"
