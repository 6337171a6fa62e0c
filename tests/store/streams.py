"""Small builders for the store tests: fresh streams and events to put in them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.domain.events import TimelineOpened, TimelineRetitled
from timeline.store.append import AppendResult, StreamRef, append_to_stream
from timeline.store.read import read_stream


def fresh_stream(kind: str = "timeline") -> StreamRef:
    return StreamRef(kind, f"t-{uuid.uuid4().hex[:12]}")


def opened(stream: StreamRef, title: str = "T") -> TimelineOpened:
    return TimelineOpened(slug=stream.id, title=title)


def retitled(stream: StreamRef, title: str) -> TimelineRetitled:
    return TimelineRetitled(slug=stream.id, title=title)


async def committed_append(
    engine: AsyncEngine,
    stream: StreamRef,
    expected: int | None,
    events: Sequence[TimelineOpened | TimelineRetitled],
    **options: object,
) -> AppendResult:
    """Append in a transaction of its own, committed."""
    async with engine.begin() as conn:
        return await append_to_stream(conn, stream, expected, events, **options)  # type: ignore[arg-type]


async def titles(conn: AsyncConnection, stream: StreamRef) -> list[str]:
    """The titles in a stream's events, in version order."""
    return [str(getattr(r.event, "title", "")) for r in await read_stream(conn, stream)]
