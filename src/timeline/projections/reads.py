"""Temporal reads, one function per question. (Interface; implemented by issue 4.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.projections.temporal import NOW, Temporal, TimelineFilters
from timeline.projections.views import (
    AssertionView,
    ChangesView,
    HistoryView,
    SourceView,
    TimelineList,
    TimelinePage,
)


async def list_timelines(
    conn: AsyncConnection, *, cursor: str | None = None, limit: int = 50
) -> TimelineList:
    raise NotImplementedError


async def get_timeline(
    conn: AsyncConnection,
    slug: str,
    temporal: Temporal = NOW,
    filters: TimelineFilters = TimelineFilters(),
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TimelinePage | None:
    """None when the timeline does not exist (or did not, at recorded_at)."""
    raise NotImplementedError


async def get_assertion(
    conn: AsyncConnection, assertion_id: str, temporal: Temporal = NOW
) -> AssertionView | None:
    """None when absent at that knowledge / system time."""
    raise NotImplementedError


async def get_history(
    conn: AsyncConnection, assertion_id: str, temporal: Temporal = NOW
) -> HistoryView | None:
    raise NotImplementedError


async def get_changes(
    conn: AsyncConnection,
    slug: str,
    since: datetime,
    until: datetime,
    temporal: Temporal = NOW,
) -> ChangesView | None:
    raise NotImplementedError


async def get_source(
    conn: AsyncConnection, source_id: str, temporal: Temporal = NOW
) -> SourceView | None:
    raise NotImplementedError
