"""one write: a command's events, its projection rows and its idempotency key in one statement

`timeline_write` is the write path's second and last round trip (the first is
the load a decision reads). Called in autocommit, it is its own transaction:
- the idempotency key, under a transaction-scoped advisory lock on it (as in
  0004): a live key with the same request hash replays the first result, with
  another hash raises TL422; an expired one is taken over;
- the optimistic-concurrency check of every stream it appends to (TL409, its
  DETAIL a JSON object naming the stream, 1-based, and its actual version),
  with the unique (stream_type, stream_id, version) constraint as the last word;
- the events, several streams at once (a withdrawal and the assertions it
  tells), with recorded_at as the caller read it from the server's clock
  before deciding (NULL: now());
- the projection rows the caller computed from them (JSON arrays in the
  tables' own column names), in which a position the log has not assigned yet
  is PENDING + k, k the 1-based index of the event in this write; PENDING is
  2^62, above any real position. `timeline_position` and `timeline_view`
  replace those by the positions just assigned (a stored view is JSON ending
  in its last_position);
- the key row, written once with the result.
It returns the events as stored: their positions and versions, the writing
transaction's id and recorded_at.

`timeline_append` (0001, 0004) keeps its signature and becomes the one-stream
case of `timeline_write`, with no projection rows.

Create Date: 2026-12-01 09:00:00.000000
"""

from alembic import op

from timeline.migrations import run_sql

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    run_sql("timeline_position.v1")
    run_sql("timeline_view.v1")
    run_sql("timeline_write.v1")
    op.execute("DROP FUNCTION timeline_append")
    run_sql("timeline_append.v3")


def downgrade() -> None:
    op.execute("DROP FUNCTION timeline_append")
    run_sql("timeline_append.v2")
    op.execute("DROP FUNCTION timeline_write")
    op.execute("DROP FUNCTION timeline_view")
    op.execute("DROP FUNCTION timeline_position")
