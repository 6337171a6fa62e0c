"""The feed's wire shapes: the plain event (DESIGN §5) and its CloudEvents 1.0 envelope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from timeline.store.codec import encode_data
from timeline.store.feed import FeedEntry

CLOUDEVENTS_MEDIA_TYPE = "application/cloudevents+json"


class FeedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event of the feed; `id` is its cursor, so a reader resumes after it."""

    id: str
    type: str
    stream_type: str
    stream_id: str
    version: int
    data: msgspec.Raw
    reported_at: datetime | None
    recorded_at: datetime
    timeline: str | None
    position: int
    schema_version: int
    metadata: dict[str, Any]


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A CloudEvents 1.0 JSON envelope; the lower-case extras are CloudEvents extensions."""

    specversion: str
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    datacontenttype: str
    dataschemaversion: int
    data: msgspec.Raw
    streamtype: str
    streamid: str
    streamversion: int
    timeline: str | None
    reportedat: datetime | None


class FeedPageBody(msgspec.Struct, frozen=True, kw_only=True):
    events: Sequence[FeedEvent | CloudEvent]
    next_cursor: str


def feed_event(entry: FeedEntry) -> FeedEvent:
    r = entry.recorded
    return FeedEvent(
        id=entry.cursor,
        type=r.type,
        stream_type=r.stream_type,
        stream_id=r.stream_id,
        version=r.version,
        data=msgspec.Raw(encode_data(r.event).encode()),
        reported_at=r.reported_at,
        recorded_at=r.recorded_at,
        timeline=r.timeline,
        position=r.position,
        schema_version=r.schema_version,
        metadata=r.metadata,
    )


def cloud_event(entry: FeedEntry, store: str) -> CloudEvent:
    r = entry.recorded
    return CloudEvent(
        specversion="1.0",
        id=entry.cursor,
        source=f"urn:timeline:store:{store}",
        type=f"timeline.{r.type}",
        time=r.recorded_at,
        subject=f"{r.stream_type}/{r.stream_id}",
        datacontenttype="application/json",
        dataschemaversion=r.schema_version,
        data=msgspec.Raw(encode_data(r.event).encode()),
        streamtype=r.stream_type,
        streamid=r.stream_id,
        streamversion=r.version,
        timeline=r.timeline,
        reportedat=r.reported_at,
    )


def shape(entry: FeedEntry, store: str, cloudevents: bool) -> FeedEvent | CloudEvent:
    """The event as the client asked for it."""
    return cloud_event(entry, store) if cloudevents else feed_event(entry)
