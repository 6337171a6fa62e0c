"""The read indexes: what a rebuild creates once, after its bulk load, and the span classes.

Migrations 0003 and 0006 made these on the live schema; `DEFERRED_INDEXES`
lists them so a rebuild makes the same (tests/projections/test_window_plans.py
holds them to the migrations).
"""

from __future__ import annotations

from sqlalchemy import DateTime, Index, func, literal_column

from timeline.projections.assertions import assertions, revisions

_INFINITY = literal_column("'infinity'::timestamptz", DateTime(timezone=True))

# Spans of valid time longer than one day fall into classes by length: class k
# (1..11) holds spans of [4^(k-1), 4^k) days, the last one everything longer.
# A page with occurred_from F finds the assertions that started before F and
# still overlap it class by class, each an index range scan over starts in
# [F - (4^k - 1), F) (projections.pages); one-day assertions, most of them,
# cannot overlap F without starting on it, so the span indexes leave them out.
SPAN_BOUNDS = tuple(4**k for k in range(11))


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
    # page order so the terms of projections.visibility are checked in the
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
