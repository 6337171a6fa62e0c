"""Fast bulk seeding for the projection benchmarks: events written by SQL, then a rebuild.

Each timeline holds 1,000 assertions of 5 versions (a recording and four
revisions, reported a day apart), interleaved across assertions as a real
store would be.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ASSERTIONS = 1000
VERSIONS = 5
EVENTS_PER_TIMELINE = ASSERTIONS * VERSIONS + 1

_TS = (
    "to_char((timestamptz '2020-10-01 00:00Z' + make_interval(days => v, secs => a)) "
    "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
)

_TIMELINES = text(
    "INSERT INTO events (stream_type, stream_id, version, type, data, timeline) "
    "SELECT 'timeline', 'tl-' || t, 1, 'TimelineOpened', "
    "jsonb_build_object('slug', 'tl-' || t, 'title', 'Timeline ' || t), 'tl-' || t "
    "FROM generate_series(CAST(:first AS int), CAST(:last AS int)) t"
)

_ASSERTIONS = text(
    "INSERT INTO events (stream_type, stream_id, version, type, data, timeline, reported_at) "
    "SELECT 'assertion', 'a-' || t || '-' || a, v, "
    "CASE WHEN v = 1 THEN 'AssertionRecorded' ELSE 'AssertionRevised' END, "
    "CASE WHEN v = 1 THEN jsonb_build_object('assertion_id', 'a-' || t || '-' || a, "
    "  'timeline', 'tl-' || t, 'occurred', to_char(date '2020-09-01' + (a % 60), 'YYYY-MM-DD'), "
    "  'kind', 'armed_clash', 'summary', 'Clash number ' || a, "
    "  'actors', jsonb_build_array('Armenia'), "
    f"  'reported_at', {_TS}) "
    "ELSE jsonb_build_object('assertion_id', 'a-' || t || '-' || a, "
    "  'summary', 'Clash number ' || a || ', version ' || v, 'reason', 'update', "
    f"  'reported_at', {_TS}) END, "
    "'tl-' || t, timestamptz '2020-10-01 00:00Z' + make_interval(days => v, secs => a) "
    "FROM generate_series(CAST(:first AS int), CAST(:last AS int)) t, "
    "generate_series(1, CAST(:versions AS int)) v, "
    "generate_series(1, CAST(:assertions AS int)) a ORDER BY t, v, a"
)


async def seed_events(engine: AsyncEngine, first: int, last: int) -> int:
    """Write timelines first..last (and their assertions) straight into the log."""
    params = {"first": first, "last": last, "versions": VERSIONS, "assertions": ASSERTIONS}
    async with engine.begin() as conn:
        await conn.execute(_TIMELINES, params)
        await conn.execute(_ASSERTIONS, params)
    return (last - first + 1) * EVENTS_PER_TIMELINE
