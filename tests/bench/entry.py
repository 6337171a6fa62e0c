"""The application's entry points the benchmarks call, each in one place.

The runtime behind them is being rebuilt (write path, read cache, feed, read
indexes). The benchmarks reach it only through these functions, so when a name
or a signature changes, it is adapted here and every benchmark follows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.api.app import create_app
from timeline.commands import handlers
from timeline.commands.keys import create_key
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.domain.commands import OpenTimeline, RecordAssertion, RegisterSource
from timeline.domain.events import Event
from timeline.domain.values import Citation, Place
from timeline.feed.plugin import FeedPlugin
from timeline.projections.rebuild import rebuild
from timeline.projections.temporal import NO_FILTERS, NOW, Temporal, TimelineFilters
from timeline.projections.timelines import get_timeline, get_timeline_json
from timeline.store.append import StreamRef, append_to_stream
from timeline.store.db import begin, connect, create_engine

__all__ = [
    "NOW",
    "Temporal",
    "TimelineFilters",
    "api_app",
    "append",
    "assertion",
    "begin",
    "connect",
    "create_engine",
    "feed_plugin",
    "get_timeline",
    "open_timeline",
    "project_all",
    "record_assertion",
    "register_source",
    "timeline_page",
    "write_key",
    "writer",
]

SOURCE = "bench-src"


def api_app(database_url: str, extra_routes: Sequence[Any] = ()) -> Litestar:
    """The API as `timeline serve` builds it, plus a benchmark's baseline routes.

    Without a per-key write rate limit, where the settings have one: wrk posts with
    one key far faster than a client would, and 429s would be measured, not writes.
    """
    names = {f.name for f in dataclasses.fields(Settings)}
    settings = Settings(**({"write_rate_limit": 0} if "write_rate_limit" in names else {}))
    return create_app(settings, database_url, extra_route_handlers=extra_routes)


def feed_plugin(database_url: str) -> FeedPlugin:
    return FeedPlugin(database_url)


def writer(engine: AsyncEngine) -> Writer:
    """What runs commands, with no feed to wake."""
    return Writer(engine)


async def open_timeline(runner: Writer, slug: str, title: str = "Bench") -> None:
    await handlers.open_timeline(runner, OpenTimeline(slug=slug, title=title, region="Caucasus"))


async def register_source(runner: Writer, source_id: str = SOURCE) -> None:
    await handlers.register_source(
        runner, RegisterSource(source_id=source_id, publisher="BBC", title="BBC News")
    )


def assertion(assertion_id: str, timeline: str, i: int) -> RecordAssertion:
    """A realistic one-day assertion citing SOURCE."""
    day = 1 + i % 28
    return RecordAssertion(
        assertion_id=assertion_id,
        timeline=timeline,
        occurred=f"2020-10-{day:02d}",
        kind="shelling",
        summary=f"Stepanakert shelled, report {i}",
        place=Place(name="Stepanakert", lat=39.8, lon=46.75),
        actors=("Azerbaijan",),
        claimant="Armenia",
        citations=(Citation(source_id=SOURCE, quote="residents resorted to shelter"),),
        reported_at=datetime(2020, 10, day, 12, tzinfo=UTC),
    )


async def record_assertion(runner: Writer, cmd: RecordAssertion) -> None:
    await handlers.record_assertion(runner, cmd)


async def append(
    engine: AsyncEngine,
    stream_type: str,
    stream_id: str,
    expected_version: int,
    events: Sequence[Event],
    *,
    idempotency_key: str | None = None,
) -> None:
    """Events appended to one stream in a transaction of their own, as a command appends them."""
    async with begin(engine) as conn:
        await append_to_stream(
            conn,
            StreamRef(stream_type, stream_id),
            expected_version,
            events,
            idempotency_key=idempotency_key,
        )


async def write_key(engine: AsyncEngine) -> str:
    """A new API key with the write scope; returns its secret."""
    async with begin(engine) as conn:
        _, secret = await create_key(conn, ["write"], "bench")
    return secret


async def timeline_page(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal = NOW,
    filters: TimelineFilters = NO_FILTERS,
    limit: int = 50,
) -> Any:
    """The page the API serves for GET /v1/timelines/{slug} (stored views, not decoded)."""
    return await get_timeline_json(conn, slug, temporal, filters, limit=limit)


async def project_all(engine: AsyncEngine, batch_size: int = 5000) -> int:
    """Replay the whole log into the projections; the number of events replayed."""
    return (await rebuild(engine, batch_size=batch_size)).events
