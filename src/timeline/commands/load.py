"""Load aggregates by folding their streams: the write path's source of truth.

A command often needs several aggregates (an assertion, its timeline, the
sources it cites); `load_many` reads all their streams in one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain import assertions, sources, timelines
from timeline.domain.events import AssertionEvent, SourceEvent, TimelineEvent
from timeline.store.append import StreamRef
from timeline.store.codec import RecordedEvent
from timeline.store.read import read_stream, read_streams


def timeline_stream(slug: str) -> StreamRef:
    return StreamRef("timeline", slug)


def source_stream(source_id: str) -> StreamRef:
    return StreamRef("source", source_id)


def assertion_stream(assertion_id: str) -> StreamRef:
    return StreamRef("assertion", assertion_id)


def _timeline(recorded: list[RecordedEvent]) -> timelines.Timeline | None:
    return timelines.fold(cast(TimelineEvent, r.event) for r in recorded)


def _source(recorded: list[RecordedEvent]) -> sources.Source | None:
    return sources.fold(cast(SourceEvent, r.event) for r in recorded)


def _assertion(recorded: list[RecordedEvent]) -> assertions.Assertion | None:
    return assertions.fold((r.version, cast(AssertionEvent, r.event)) for r in recorded)


async def load_timeline(conn: AsyncConnection, slug: str) -> timelines.Timeline | None:
    return _timeline(await read_stream(conn, timeline_stream(slug)))


async def load_source(conn: AsyncConnection, source_id: str) -> sources.Source | None:
    return _source(await read_stream(conn, source_stream(source_id)))


async def load_sources(
    conn: AsyncConnection, source_ids: Iterable[str]
) -> dict[str, sources.Source | None]:
    """Each source by id (None when absent), in one round trip."""
    return (await load_many(conn, source_ids=source_ids)).sources


async def load_assertion(conn: AsyncConnection, assertion_id: str) -> assertions.Assertion | None:
    return _assertion(await read_stream(conn, assertion_stream(assertion_id)))


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    """Aggregates by id, None for those that do not exist."""

    timelines: dict[str, timelines.Timeline | None]
    sources: dict[str, sources.Source | None]
    assertions: dict[str, assertions.Assertion | None]


async def load_many(
    conn: AsyncConnection,
    *,
    timeline_slugs: Iterable[str] = (),
    source_ids: Iterable[str] = (),
    assertion_ids: Iterable[str] = (),
) -> Loaded:
    """Every named aggregate, folded from streams read in one round trip."""
    slugs, source_set, assertion_set = set(timeline_slugs), set(source_ids), set(assertion_ids)
    streams = await read_streams(
        conn,
        [
            *map(timeline_stream, slugs),
            *map(source_stream, source_set),
            *map(assertion_stream, assertion_set),
        ],
    )
    return Loaded(
        timelines={slug: _timeline(streams[timeline_stream(slug)]) for slug in slugs},
        sources={sid: _source(streams[source_stream(sid)]) for sid in source_set},
        assertions={aid: _assertion(streams[assertion_stream(aid)]) for aid in assertion_set},
    )
