"""Has anything an answer shows been written since it was read? One indexed statement.

A read's answer is a function of the events of its *scope* that its snapshot
sees: a timeline page of the events whose `timeline` column names it (the
timeline's own stream and every assertion on it, a cited source's withdrawal
included, since the withdrawal is told to each citing assertion in the same
transaction as an event of that assertion); an assertion or a source of its
stream's events; the list of timelines of every event. A page's views carry
no source data but the cited source's id and the quote (an update of a source
changes no page; its withdrawal does, through the assertions' own events). The projection rows a
read uses are written in the same transaction as those events, so they change
exactly when the scope's visible events do. (A rebuild writes the same rows
from the same events.)

Why not "the scope's largest position": positions come from a sequence and
transactions commit out of position order, so a transaction holding a smaller
position can commit after a read that saw a larger one. Transaction ids have
the same problem. What is sound is the read's snapshot itself:

- The answer was computed at a snapshot X, and the cache keeps a snapshot S
  taken no later than X (`snapshot()` is run just before the page query, or
  is the snapshot of the check that found the old answer stale), so every
  event S sees, X sees too.
- `changed_since(S)` runs at a new snapshot V (taken after S and X) and looks
  for an event of the scope that V sees and S does not
  (`NOT pg_visible_in_snapshot(tx_id, S)`). Only a transaction with
  `tx_id >= xmin(S)` can be such: any older one had ended when S was taken.
  So the scan is the index range `tx_id >= xmin(S)`, newest first, and stops
  at the first hit.
- Found none: V sees the same events of the scope as S, hence as X, and the
  answer is the one V would compute. V becomes the new S.
- A client that got a 201 from any process before sending its read: the write
  committed before the read arrived, and the check that serves the read runs
  at a snapshot taken after it arrived, so it sees the write, and either the
  write is in the answer already or the check finds it.

`final_snapshot` says when an answer pinned to `recorded_at=R` can never
change: `recorded_at` is a transaction's start time (`now()`), and a
transaction may commit long after it started. The answer is final once no
transaction that started at or before R can still commit: no client backend
of this database has a transaction open since R (pg_stat_activity, read in a
statement that ends before the page query's snapshot is taken), R is over a
quarter of a second old (a transaction shows in pg_stat_activity a few
microseconds after its start time is taken), and no prepared transaction is
waiting. A backend whose start time this role cannot see counts as one that
might. `timeline restore` (store/restore.py) writes events with the recorded_at
of the store they came from, and only into an empty store: restart the API
after restoring into a store it serves. `timeline import` records them now.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.db import fetch


class Scope(msgspec.Struct, frozen=True):
    """The events an answer is made of: one timeline's, one stream's, or all."""

    timeline: str | None = None
    stream_type: str | None = None
    stream_id: str | None = None

    @classmethod
    def of_timeline(cls, slug: str) -> Scope:
        return cls(timeline=slug)

    @classmethod
    def of_stream(cls, stream_type: str, stream_id: str) -> Scope:
        return cls(stream_type=stream_type, stream_id=stream_id)


STORE = Scope()

# The read's snapshot, as text. On a hot standby pg_current_snapshot() lists no running
# transaction (recovery keeps them where pg_snapshot does not look; see store/feed.py),
# so there it is cut to its xmin: it then claims to see only what ended before the
# oldest transaction still running, less than the read saw and never more, so a check
# against it errs towards computing the answer again.
_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text"
_NOW = (
    f"(CASE WHEN pg_is_in_recovery() THEN {_XMIN} || ':' || {_XMIN} || ':' "
    "ELSE pg_current_snapshot()::text END)"
)

# The newest event of the scope that the given snapshot did not see, if any. ORDER BY
# with LIMIT (not EXISTS) keeps the scan on an index even in a generic plan; the
# range `tx_id >= xmin(S)` bounds it by the recent writes.
_UNSEEN = (
    "(SELECT e.tx_id FROM events e WHERE {scope} "
    "AND e.tx_id >= pg_snapshot_xmin(${s}::text::pg_snapshot) "
    "AND NOT pg_visible_in_snapshot(e.tx_id, ${s}::text::pg_snapshot) "
    "ORDER BY e.tx_id DESC LIMIT 1)"
)
_CHECK_TIMELINE = f"SELECT {_NOW}, " + _UNSEEN.format(scope="e.timeline = $1", s=2) + " IS NOT NULL"
_CHECK_STREAM = (
    f"SELECT {_NOW}, "
    + _UNSEEN.format(scope="e.stream_type = $1 AND e.stream_id = $2", s=3)
    + " IS NOT NULL"
)
_CHECK_STORE = f"SELECT {_NOW}, " + _UNSEEN.format(scope="true", s=1) + " IS NOT NULL"

_SNAPSHOT = f"SELECT {_NOW}"

# A transaction's start time is taken a few microseconds before it shows in
# pg_stat_activity; the margin covers that gap many times over.
FINAL_MARGIN = "250 milliseconds"
_FINAL = (
    f"SELECT {_NOW}, "
    f"$1::timestamptz < clock_timestamp() - interval '{FINAL_MARGIN}' "
    "AND NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.datname = current_database() "
    "  AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid() "
    "  AND (a.xact_start <= $1 OR (a.xact_start IS NULL AND a.state IS DISTINCT FROM 'idle'))) "
    "AND NOT EXISTS (SELECT FROM pg_prepared_xacts p WHERE p.database = current_database()) "
    # A standby's pg_stat_activity shows none of the primary's transactions: never final.
    "AND NOT pg_is_in_recovery()"
)


async def snapshot(conn: AsyncConnection) -> str:
    """The current snapshot, taken before the read it will vouch for."""
    rows = await fetch(conn, _SNAPSHOT)
    value: str = rows[0][0]
    return value


async def final_snapshot(conn: AsyncConnection, recorded_at: datetime) -> tuple[str, bool]:
    """The current snapshot, and whether an answer pinned to `recorded_at` read after
    this statement is final (see the module's docstring)."""
    (row,) = await fetch(conn, _FINAL, recorded_at)
    return row[0], bool(row[1])


async def changed_since(conn: AsyncConnection, scope: Scope, since: str) -> tuple[bool, str]:
    """Whether an event of `scope` was committed that snapshot `since` did not see,
    and the snapshot this check ran at (the next `since` when nothing changed)."""
    if scope.timeline is not None:
        rows = await fetch(conn, _CHECK_TIMELINE, scope.timeline, since)
    elif scope.stream_type is not None:
        rows = await fetch(conn, _CHECK_STREAM, scope.stream_type, scope.stream_id, since)
    else:
        rows = await fetch(conn, _CHECK_STORE, since)
    now, changed = rows[0]
    return bool(changed), now
