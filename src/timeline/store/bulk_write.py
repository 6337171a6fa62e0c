"""Write a batch of streams set-based: COPY into staging, one statement inserts it all.

`timeline_bulk_write` (migration 0013, sql/timeline_bulk_write.v1.sql) is the
bulk sibling of `timeline_write` (append.py): the events, the projection rows
the caller planned for them (positions PENDING + n, as there) and, for dataset
rows, their hashes, sent by binary COPY into session-local staging tables
instead of as parameters, so each piece of content crosses the wire once and
PostgreSQL parses it once. Stream versions are checked by a join; a stream
elsewhere than its `expected` raises StreamVersionConflict, as a write does.
Runs in the caller's transaction, which must commit (the staging tables empty
themselves at commit).

`bulk_project` writes the projection rows of events the log holds already (a
rebuild's batch, an import's), with their real positions, into a schema the
caller names (the live `projections`, or a rebuild's build schema): cuts and
current rows through the same staging tables, new revision rows by COPY.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.store.db import copy_records, fetch
from timeline.store.errors import StreamVersionConflict

EVENT_COLUMNS = (
    "n",
    "stream_type",
    "stream_id",
    "expected",
    "type",
    "schema_version",
    "data",
    "timeline",
    "reported_at",
)
REVISION_COLUMNS = (
    "assertion_id",
    "version",
    "recorded_from",
    "recorded_to",
    "known_from",
    "known_to",
    "known_cut_at",
    "position",
    "event_type",
    "schema_version",
    "event_data",
    "reported_at",
    "event_recorded_at",
    "changes",
    "reason",
    "citations",
)
STATE_COLUMNS = (
    "timeline",
    "occurred_start",
    "occurred_end",
    "kind",
    "status",
    "actors",
    "place_name",
    "claimant",
    "cited_sources",
    "search_text",
    "state",
    "last_position",
    "recorded_at",
    "view",
)
ASSERTION_COLUMNS = ("assertion_id", "from_version", *STATE_COLUMNS)
CUT_COLUMNS = (
    "assertion_id",
    "version",
    "recorded_from",
    "recorded_to",
    "known_to",
    "known_cut_at",
)
DATASET_ROW_COLUMNS = ("timeline", "dataset", "row_id", "assertion_id", "row_hash", "last_position")

Record = Sequence[Any]


class Batch(msgspec.Struct, kw_only=True):
    """A batch's staging records, each a tuple in its table's columns (the *_COLUMNS above)."""

    events: list[Record] = msgspec.field(default_factory=list)
    revisions: list[Record] = msgspec.field(default_factory=list)
    assertions: list[Record] = msgspec.field(default_factory=list)
    cuts: list[Record] = msgspec.field(default_factory=list)
    dataset_rows: list[Record] = msgspec.field(default_factory=list)


class Written(msgspec.Struct, frozen=True, kw_only=True):
    tx_id: int
    recorded_at: datetime
    positions: tuple[int, ...]


_metadata_encoder = msgspec.json.Encoder()
_STAGING = "SELECT timeline_bulk_staging()"
_WRITE = "SELECT tx_id, recorded_at, positions FROM timeline_bulk_write($1, $2)"
_TABLES = (
    ("bulk_events", EVENT_COLUMNS, "events"),
    ("bulk_revisions", (*REVISION_COLUMNS, *STATE_COLUMNS), "revisions"),
    ("bulk_assertions", ASSERTION_COLUMNS, "assertions"),
    ("bulk_cuts", CUT_COLUMNS, "cuts"),
    ("bulk_dataset_rows", DATASET_ROW_COLUMNS, "dataset_rows"),
)


async def bulk_write(
    conn: AsyncConnection,
    batch: Batch,
    *,
    metadata: Mapping[str, Any],
    recorded_at: datetime | None,
) -> Written:
    """Stage `batch` and write it, in the caller's transaction; never commits."""
    if not batch.events:
        raise ValueError("a bulk write needs at least one event")
    await fetch(conn, _STAGING)
    for table, columns, field in _TABLES:
        records = getattr(batch, field)
        if records:
            await copy_records(conn, table, schema=None, columns=columns, records=records)
    try:
        (row,) = await fetch(
            conn, _WRITE, _metadata_encoder.encode(dict(metadata)).decode(), recorded_at
        )
    except DBAPIError as error:
        raise _refusal(error) from None
    return Written(
        tx_id=int(row["tx_id"]),
        recorded_at=row["recorded_at"],
        positions=tuple(row["positions"]),
    )


_PROJECT_STAGING = "TRUNCATE bulk_assertions, bulk_cuts"
_STATE = ", ".join(STATE_COLUMNS)


def _project_sql(schema: str) -> tuple[str, str]:
    """The cut of revision rows and the upsert of current rows staged for `schema`."""
    cut = (
        f"UPDATE {schema}.revisions r SET recorded_to = c.recorded_to, known_to = c.known_to, "
        "known_cut_at = c.known_cut_at FROM bulk_cuts c WHERE r.assertion_id = c.assertion_id "
        "AND r.version = c.version AND r.recorded_from = c.recorded_from"
    )
    shared = ", ".join(f"r.{c}" for c in STATE_COLUMNS)
    own = ", ".join(f"a.{c}" for c in STATE_COLUMNS)
    updated = ", ".join(f"{c} = excluded.{c}" for c in STATE_COLUMNS)
    upsert = (
        f"INSERT INTO {schema}.assertions (assertion_id, {_STATE}) "
        f"SELECT a.assertion_id, {shared} FROM bulk_assertions a "
        f"JOIN {schema}.revisions r ON r.assertion_id = a.assertion_id "
        "AND r.version = a.from_version AND r.recorded_to IS NULL "
        "WHERE a.from_version IS NOT NULL "
        f"UNION ALL SELECT a.assertion_id, {own} FROM bulk_assertions a "
        "WHERE a.from_version IS NULL "
        f"ON CONFLICT (assertion_id) DO UPDATE SET {updated}"
    )
    return cut, upsert


async def bulk_project(conn: AsyncConnection, batch: Batch, *, schema: str) -> None:
    """Write the projection rows of events already in the log into `schema`, in the
    caller's transaction (which may call this again before it commits).

    Cuts first, by staging and one UPDATE; then the new revision rows, by COPY straight
    into the table (nothing to merge: a COPY is the cheapest insert there is); then the
    current rows, staged and upserted by one INSERT ... SELECT, those naming a new
    revision row (`from_version`) copied from it. `batch.events` is unused.
    """
    cut, upsert = _project_sql(schema)
    if batch.cuts or batch.assertions:
        await fetch(conn, _STAGING)
        await fetch(conn, _PROJECT_STAGING)
    if batch.cuts:
        await copy_records(conn, "bulk_cuts", schema=None, columns=CUT_COLUMNS, records=batch.cuts)
        await fetch(conn, cut)
    if batch.revisions:
        columns = (*REVISION_COLUMNS, *STATE_COLUMNS)
        await copy_records(
            conn, "revisions", schema=schema, columns=columns, records=batch.revisions
        )
    if batch.assertions:
        await copy_records(
            conn,
            "bulk_assertions",
            schema=None,
            columns=ASSERTION_COLUMNS,
            records=batch.assertions,
        )
        await fetch(conn, upsert)


def _refusal(error: DBAPIError) -> Exception:
    """StreamVersionConflict for a stream elsewhere than its batch expected, else the error."""
    cause, state = error.orig, getattr(error.orig, "sqlstate", None)
    if state == "23505" and getattr(cause, "constraint_name", "") == "events_stream_version_key":
        detail = getattr(cause, "detail", None) or ""  # Key (stream_type, stream_id, version)=(...)
        inside = detail.partition("=(")[2].rstrip(").")
        stream_type, _, rest = inside.partition(", ")
        return StreamVersionConflict(stream_type, rest.rpartition(", ")[0], None, None)
    if state == "TL409":
        where = msgspec.json.decode(getattr(cause, "detail", None) or "{}")
        return StreamVersionConflict(
            where.get("stream_type", ""), where.get("stream_id", ""), None, where.get("version")
        )
    return error
