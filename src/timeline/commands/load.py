"""Load aggregates by folding their streams: the write path's source of truth."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain import assertions, sources, timelines
from timeline.domain.events import AssertionEvent, SourceEvent, TimelineEvent
from timeline.store.append import StreamRef
from timeline.store.read import read_stream


def timeline_stream(slug: str) -> StreamRef:
    return StreamRef("timeline", slug)


def source_stream(source_id: str) -> StreamRef:
    return StreamRef("source", source_id)


def assertion_stream(assertion_id: str) -> StreamRef:
    return StreamRef("assertion", assertion_id)


async def load_timeline(conn: AsyncConnection, slug: str) -> timelines.Timeline | None:
    recorded = await read_stream(conn, timeline_stream(slug))
    return timelines.fold(cast(TimelineEvent, r.event) for r in recorded)


async def load_source(conn: AsyncConnection, source_id: str) -> sources.Source | None:
    recorded = await read_stream(conn, source_stream(source_id))
    return sources.fold(cast(SourceEvent, r.event) for r in recorded)


async def load_sources(
    conn: AsyncConnection, source_ids: Iterable[str]
) -> dict[str, sources.Source | None]:
    return {source_id: await load_source(conn, source_id) for source_id in set(source_ids)}


async def load_assertion(conn: AsyncConnection, assertion_id: str) -> assertions.Assertion | None:
    recorded = await read_stream(conn, assertion_stream(assertion_id))
    return assertions.fold((r.version, cast(AssertionEvent, r.event)) for r in recorded)
