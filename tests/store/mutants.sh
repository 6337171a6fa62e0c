#!/bin/bash
# Run by hand, never by pytest: bash tests/store/mutants.sh (from /work/main, ~2 min).
# One mutant per guarantee: a fresh copy of HEAD, one edit, the guarantee's tests.
set -u
export TIMELINE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres
mutant() {
  name=$1; file=$2; python_edit=$3; tests=$4
  dir=/tmp/mutants/$name; rm -rf $dir; mkdir -p $dir
  (cd /work/main && git archive HEAD) | tar -x -C $dir
  (cd $dir && python3 -c "
import sys; p='$file'; s=open(p).read(); old, new = sys.argv[1], sys.argv[2]
assert old in s, 'edit not applicable'; open(p,'w').write(s.replace(old, new))" "${python_edit%%|||*}" "${python_edit##*|||}") || { echo "$name: EDIT FAILED"; return; }
  out=$(cd $dir && PYTHONPATH=$dir/src:$dir timeout 400 /work/main/.venv/bin/pytest $tests -q -p no:cacheprovider -x 2>&1 | tail -1)
  echo "$name: $out"
}
M=migrations/versions/20261125_0001_event_store.py
# timeline_append as it stands: 0004 replaced 0001's.
A=migrations/versions/20261125_0004_leaner_append.py
mutant no_trigger $M '    for statement in IMMUTABLE:
        op.execute(statement)|||' tests/store/test_immutable.py
mutant no_always $M '    "ALTER TABLE events ENABLE ALWAYS TRIGGER events_no_update_delete",|||' tests/store/test_immutable.py
mutant no_occ $A '  IF p_expected IS NOT NULL AND v_current <> p_expected THEN|||  IF false THEN' tests/store/test_concurrency.py
mutant no_unique $M '        sa.UniqueConstraint(
            "stream_type", "stream_id", "version", name="events_stream_version_key"
        ),|||' tests/store/test_concurrency.py
mutant no_idempotency $A '  IF p_idem_key IS NOT NULL THEN
    -- A concurrent|||  IF false THEN
    -- A concurrent' tests/store/test_idempotency.py
mutant no_key_hash_check $A '      IF v_key.request_hash <> p_idem_hash THEN|||      IF false THEN' tests/store/test_idempotency.py
mutant no_key_lock $A '    PERFORM pg_advisory_xact_lock|||    -- PERFORM pg_advisory_xact_lock' "tests/store/test_idempotency.py tests/store/test_key_lock.py"
mutant append_commits src/timeline/store/append.py '        (row,) = await fetch(conn, _APPEND, *args)|||        (row,) = await fetch(conn, _APPEND, *args)
        await conn.commit()' tests/store/test_atomic.py
mutant driver_outside_transaction src/timeline/store/engine.py '            await start()|||            pass' "tests/store/test_atomic.py tests/store/test_driver_transaction.py"
mutant no_horizon src/timeline/store/feed.py 'f"tx_id < {HORIZON}",|||"true",' "tests/store/test_feed.py -k busy"
mutant horizon_ignores_database src/timeline/store/feed.py '"AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))"|||")"' "tests/store/test_feed.py -k busy"
mutant order_by_position src/timeline/store/feed.py '"ORDER BY events.tx_id, events.position LIMIT :limit"|||"ORDER BY events.position LIMIT :limit"' "tests/store/test_feed.py"
mutant foreign_cursor src/timeline/store/cursor.py '    if prefix != _prefix(store_id):|||    if False:' "tests/store/test_feed.py"
mutant no_upcaster src/timeline/domain/upcast.py '@upcaster("AssertionRecorded", 0)|||' tests/store/test_upcast.py
