"""The read models' tables, in their own PostgreSQL schema `projections`.

A rebuild creates the same tables in a fresh schema (via `schema_translate_map`)
and swaps the schemas by renaming them, so every table here names
`schema=SCHEMA`. Secondary indexes are listed in `DEFERRED_INDEXES` so a rebuild
can create them once, after the bulk load.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    Table,
    Text,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

from timeline.store.tables import metadata

SCHEMA = "projections"

# Full-text search runs over summary, quotes and statements with this configuration.
SEARCH_CONFIG = "english"
_SEARCH = Computed(f"to_tsvector('{SEARCH_CONFIG}', search_text)", persisted=True)

timelines = Table(
    "timelines",
    metadata,
    Column("slug", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("last_position", BigInteger, nullable=False),
    schema=SCHEMA,
)

sources = Table(
    "sources",
    metadata,
    Column("source_id", Text, primary_key=True),
    Column("publisher", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=True),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("published_at_note", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("via", Text, nullable=True),
    Column("credits", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Column("withdrawal_reason", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("last_position", BigInteger, nullable=False),
    schema=SCHEMA,
)


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

# What the projections were built to by the last rebuild (one row).
build = Table(
    "build",
    metadata,
    Column("name", Text, primary_key=True),
    Column("feed_tx_id", BigInteger, nullable=False),
    Column("feed_position", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    schema=SCHEMA,
)

_INFINITY = literal_column("'infinity'::timestamptz", DateTime(timezone=True))

# Spans of valid time longer than one day fall into classes by length: class k
# (1..11) holds spans of [4^(k-1), 4^k) days, the last one everything longer.
# A page with occurred_from F finds the assertions that started before F and
# still overlap it class by class, each an index range scan over starts in
# [F - (4^k - 1), F) (projections.reads); one-day assertions, most of them,
# cannot overlap F without starting on it, so the span indexes leave them out.
SPAN_BOUNDS = tuple(4**k for k in range(11))
SPAN_CLASSES = len(SPAN_BOUNDS)


def span_class(alias: str = "") -> str:
    """The SQL of an assertion row's span class, as the span indexes compute it."""
    prefix = f"{alias}." if alias else ""
    bounds = ", ".join(str(b) for b in SPAN_BOUNDS)
    return (
        f"width_bucket({prefix}occurred_end - {prefix}occurred_start, "
        f"CAST(ARRAY[{bounds}] AS integer[]))"
    )


# The SQL function (migration 0006) giving an assertion's actors as keys
# qualified by its timeline, lower-cased: `actor=` is one GIN lookup within the
# timeline, not every assertion of the store that names the actor.
ACTOR_KEYS = "timeline_actor_keys"

DEFERRED_INDEXES = (
    Index(
        "assertions_timeline_page_idx",
        assertions.c.timeline,
        assertions.c.occurred_start,
        assertions.c.assertion_id,
    ),
    Index("assertions_timeline_position_idx", assertions.c.timeline, assertions.c.last_position),
    # Filtered pages (migration 0006): each kind or status asked for is a range
    # scan in page order; a span class is one from a lookback date.
    Index(
        "assertions_timeline_kind_idx",
        assertions.c.timeline,
        assertions.c.kind,
        assertions.c.occurred_start,
        assertions.c.assertion_id,
    ),
    Index(
        "assertions_timeline_status_idx",
        assertions.c.timeline,
        assertions.c.status,
        assertions.c.occurred_start,
        assertions.c.assertion_id,
    ),
    Index(
        "assertions_timeline_span_idx",
        assertions.c.timeline,
        literal_column(span_class()),
        assertions.c.occurred_start,
        assertions.c.assertion_id,
        postgresql_where=assertions.c.occurred_end > assertions.c.occurred_start,
    ),
    Index(
        "assertions_timeline_actors_idx",
        getattr(func, ACTOR_KEYS)(assertions.c.timeline, assertions.c.actors),
        postgresql_using="gin",
    ),
    Index("assertions_cited_sources_idx", assertions.c.cited_sources, postgresql_using="gin"),
    Index("assertions_search_idx", assertions.c.search, postgresql_using="gin"),
    # Keyset pages of revisions (migration 0003). The interval columns follow the
    # page order so the temporal terms of projections.reads are checked in the
    # index and only the matching rows are fetched: known_at on the rows held now
    # (partial), recorded_at on every row.
    Index(
        "revisions_live_page_idx",
        revisions.c.timeline,
        revisions.c.occurred_start,
        revisions.c.assertion_id,
        revisions.c.known_from,
        func.coalesce(revisions.c.known_to, _INFINITY),
        postgresql_where=revisions.c.recorded_to.is_(None),
    ),
    Index(
        "revisions_held_page_idx",
        revisions.c.timeline,
        revisions.c.occurred_start,
        revisions.c.assertion_id,
        revisions.c.recorded_from,
        func.coalesce(revisions.c.recorded_to, _INFINITY),
        revisions.c.known_from,
    ),
    Index(
        "revisions_timeline_kind_idx",
        revisions.c.timeline,
        revisions.c.kind,
        revisions.c.occurred_start,
        revisions.c.assertion_id,
    ),
    Index(
        "revisions_timeline_status_idx",
        revisions.c.timeline,
        revisions.c.status,
        revisions.c.occurred_start,
        revisions.c.assertion_id,
    ),
    Index(
        "revisions_timeline_span_idx",
        revisions.c.timeline,
        literal_column(span_class()),
        revisions.c.occurred_start,
        revisions.c.assertion_id,
        postgresql_where=revisions.c.occurred_end > revisions.c.occurred_start,
    ),
    Index(
        "revisions_timeline_actors_idx",
        getattr(func, ACTOR_KEYS)(revisions.c.timeline, revisions.c.actors),
        postgresql_using="gin",
    ),
    Index("revisions_search_idx", revisions.c.search, postgresql_using="gin"),
    Index("revisions_timeline_reported_idx", revisions.c.timeline, revisions.c.reported_at),
    # The largest position on a timeline as held at recorded_at: a backward
    # index-only scan that tests recorded_from in the index (migration 0003).
    Index(
        "revisions_timeline_position_idx",
        revisions.c.timeline,
        revisions.c.position,
        revisions.c.recorded_from,
    ),
)
