"""The assertions read model: its tables, and the reads of one assertion.

`assertions` holds the current state, one row per assertion: the fold of all
its events. `revisions` holds its history, bitemporal: one row per assertion
event in knowledge order, holding the state after it (docs/projections.md).
How events change them is in revising.py (SQL) and rows.py (pure); a
timeline's page of them in pages.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Computed, Date, DateTime, Table, Text, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections import visibility
from timeline.projections.present import assertion_view_of_row, changes_of_row, citations_of_row
from timeline.projections.schema import SCHEMA, name, statement
from timeline.projections.temporal import NOW, Temporal
from timeline.projections.views import AssertionView, HistoryView, RevisionView
from timeline.store.tables import metadata

# Full-text search runs over summary, quotes and statements with this configuration.
SEARCH_CONFIG = "english"
_SEARCH = Computed(f"to_tsvector('{SEARCH_CONFIG}', search_text)", persisted=True)


def _state_columns() -> list[Column[object]]:
    """The columns of an assertion state that timeline views filter and sort on."""
    return [
        Column("timeline", Text, nullable=False),
        Column("occurred_start", Date, nullable=False),
        Column("occurred_end", Date, nullable=False),
        Column("kind", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("actors", ARRAY(Text), nullable=False),
        Column("place_name", Text, nullable=True),
        Column("claimant", Text, nullable=True),
        Column("cited_sources", ARRAY(Text), nullable=False),
        Column("search_text", Text, nullable=False),
        Column("search", TSVECTOR, _SEARCH),
        # the whole state (domain.assertions.Assertion as JSON): what views are made from
        Column("state", JSONB, nullable=False),
        Column("last_position", BigInteger, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        # The row's AssertionView as the API serves it (msgspec's JSON of the view
        # made from state, recorded_at and last_position), so a page is served
        # without decoding states (migration 0005). Last, so a rebuilt table lists
        # its columns in the order the migrations added them.
        Column("view", Text, nullable=False),
    ]


# The current state: one row per assertion, the fold of all its events.
assertions = Table(
    "assertions",
    metadata,
    Column("assertion_id", Text, primary_key=True),
    *_state_columns(),
    schema=SCHEMA,
)

# Revision history, bitemporal. One row per assertion event in knowledge order,
# holding the state after it. [known_from, known_to) is the knowledge interval in
# which that state was the latest; [recorded_from, recorded_to) is when this
# store held the row. A backfill that slots in between re-cuts the rows after it:
# they are closed (recorded_to) and re-inserted. Appending at the end of
# knowledge order only cuts the last row's open known_to; that is done in place
# and `known_cut_at` says when, so a recorded_at read before the cut still sees
# the row as open-ended.
revisions = Table(
    "revisions",
    metadata,
    Column("assertion_id", Text, primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("recorded_from", DateTime(timezone=True), primary_key=True),
    Column("recorded_to", DateTime(timezone=True), nullable=True),
    Column("known_from", DateTime(timezone=True), nullable=False),
    Column("known_to", DateTime(timezone=True), nullable=True),
    Column("known_cut_at", DateTime(timezone=True), nullable=True),
    Column("position", BigInteger, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", BigInteger, nullable=False),
    # the event itself, so a later event of the stream re-folds without the log
    Column("event_data", JSONB, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("event_recorded_at", DateTime(timezone=True), nullable=False),
    Column("changes", JSONB, nullable=False),
    Column("reason", Text, nullable=True),
    Column("citations", JSONB, nullable=False),
    *_state_columns(),
    schema=SCHEMA,
)

# Payload columns no statement filters, joins or sorts on: ANALYZE keeps no statistics of
# them (sampling their JSON was most of what a rebuild's ANALYZE cost, and no plan reads
# them). Migration 0015 set this on the live tables; a rebuild sets it on the ones it makes.
PAYLOAD_COLUMNS = {
    "assertions": ("state", "view"),
    "revisions": ("event_data", "changes", "citations", "state", "view"),
}


def payload_statistics(schema: str) -> list[str]:
    """The statements that set no statistics on PAYLOAD_COLUMNS of the tables in `schema`."""
    return [
        f"ALTER TABLE {schema}.{table} "
        + ", ".join(f"ALTER COLUMN {column} SET STATISTICS 0" for column in columns)
        for table, columns in PAYLOAD_COLUMNS.items()
    ]


# -- reads ----------------------------------------------------------------------

# What a history or a list of changes shows of a revision row.
REVISION_COLUMNS = (
    "r.assertion_id, r.version, r.event_type, r.reported_at, r.event_recorded_at, "
    "r.changes::text AS changes, r.reason, r.citations::text AS citations, "
    "r.view, r.last_position, r.known_from, r.known_to, "
    "r.known_cut_at"
)
# knowledge order: the recording first, then (reported_at, version)
_KNOWLEDGE_ORDER = "(r.event_type <> 'AssertionRecorded'), r.reported_at, r.version"


def change_of_row(row: Any) -> dict[str, Any]:
    """What a history's revision and a timeline's change both show of a revision row."""
    return {
        "version": row.version,
        "event_type": row.event_type,
        "reported_at": row.reported_at,
        "recorded_at": row.event_recorded_at,
        "changes": changes_of_row(row.changes),
        "reason": row.reason,
        "state": assertion_view_of_row(row),
    }


def revision_rows(where: list[str], order: str) -> Any:
    """The statement of the revision rows matching `where`, in `order`."""
    return statement(
        f"SELECT {REVISION_COLUMNS} FROM {name(revisions)} r "
        f"WHERE {' AND '.join(where)} ORDER BY {order}"
    )


async def get_assertion(
    conn: AsyncConnection, assertion_id: str, temporal: Temporal = NOW
) -> AssertionView | None:
    """The assertion as `temporal` asks; None when absent at that knowledge / system time."""
    params: dict[str, Any] = {"id": assertion_id}
    table = name(assertions if temporal.is_current else revisions)
    where = ["r.assertion_id = :id"]
    if not temporal.is_current:
        where += visibility.visible(temporal, params)
    where += visibility.occurred_window(temporal, params)
    sql = f"SELECT r.view FROM {table} r WHERE {' AND '.join(where)}"
    row = (await conn.execute(statement(sql), params)).first()
    return None if row is None else assertion_view_of_row(row)


async def get_history(
    conn: AsyncConnection, assertion_id: str, temporal: Temporal = NOW
) -> HistoryView | None:
    """Every version in knowledge order with its diffs; None when absent at `temporal`."""
    params: dict[str, Any] = {"id": assertion_id}
    where = ["r.assertion_id = :id", *visibility.held(temporal, params)]
    rows = (await conn.execute(revision_rows(where, _KNOWLEDGE_ORDER), params)).all()
    if not rows:
        return None
    history = [
        RevisionView(
            **change_of_row(row),
            citations=citations_of_row(row.citations),
            known_from=row.known_from,
            known_to=visibility.known_to(row, temporal),
        )
        for row in rows
    ]
    return HistoryView(
        assertion_id=assertion_id,
        revisions=history,
        last_position=max(row.last_position for row in rows),
    )


async def assertions_citing(conn: AsyncConnection, source_id: str) -> list[str]:
    """Ids of the assertions whose current citations include `source_id`."""
    rows = await conn.execute(
        select(assertions.c.assertion_id)
        .where(assertions.c.cited_sources.contains([source_id]))
        .order_by(assertions.c.assertion_id)
    )
    return [row.assertion_id for row in rows]
