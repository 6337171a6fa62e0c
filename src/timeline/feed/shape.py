"""The feed's wire shapes: the plain event (DESIGN §5) and its CloudEvents 1.0 envelope.

The structs here are what goes on the wire; `data` and `metadata` are the
stored JSON passed through untouched (msgspec.Raw) when the row's schema is
current, so a page costs no decode and re-encode per event. Old rows are
upcast first. `feed/schemas.py` describes the same shapes for OpenAPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from timeline.domain.events import EVENT_TYPES
from timeline.store import feed as cols
from timeline.store.codec import decode_data, encode_data
from timeline.store.feed import FeedRows

CLOUDEVENTS_MEDIA_TYPE = "application/cloudevents+json"

_CURRENT = {name: cls.schema_version for name, cls in EVENT_TYPES.items()}


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
    metadata: msgspec.Raw


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


def current_data(event_type: str, schema_version: int, data: str) -> msgspec.Raw:
    """The stored JSON as is when its shape is current, else upcast to the current shape."""
    if _CURRENT.get(event_type) == schema_version:
        return msgspec.Raw(data)
    return msgspec.Raw(encode_data(decode_data(event_type, schema_version, data)))


def row_event(row: Any, cursor: str) -> FeedEvent:
    """A FeedEvent from a read_feed_rows row (unpacked in ROW_COLUMNS order)."""
    _, position, stream_type, stream_id, version, event_type, schema_version, data = row[:8]
    metadata, timeline, reported_at, recorded_at = row[8:]
    return FeedEvent(
        id=cursor,
        type=event_type,
        stream_type=stream_type,
        stream_id=stream_id,
        version=version,
        data=current_data(event_type, schema_version, data),
        reported_at=reported_at,
        recorded_at=recorded_at,
        timeline=timeline,
        position=position,
        schema_version=schema_version,
        metadata=msgspec.Raw(metadata),
    )


def row_cloud_event(row: Any, cursor: str, store: str) -> CloudEvent:
    """A CloudEvent from a read_feed_rows row (unpacked in ROW_COLUMNS order)."""
    _, _, stream_type, stream_id, version, event_type, schema_version, data = row[:8]
    _, timeline, reported_at, recorded_at = row[8:]
    return CloudEvent(
        specversion="1.0",
        id=cursor,
        source=f"urn:timeline:store:{store}",
        type=f"timeline.{event_type}",
        time=recorded_at,
        subject=f"{stream_type}/{stream_id}",
        datacontenttype="application/json",
        dataschemaversion=schema_version,
        data=current_data(event_type, schema_version, data),
        streamtype=stream_type,
        streamid=stream_id,
        streamversion=version,
        timeline=timeline,
        reportedat=reported_at,
    )


def shape_rows(page: FeedRows, store: str, cloudevents: bool) -> list[FeedEvent] | list[CloudEvent]:
    """A page's rows as the client asked for them."""
    if cloudevents:
        return [row_cloud_event(r, c, store) for r, c in zip(page.rows, page.cursors, strict=True)]
    return [row_event(r, c) for r, c in zip(page.rows, page.cursors, strict=True)]


class LiveEvent:
    """One row of the feed for the live path: what filters test, and its JSON made once.

    The hub hands the same LiveEvent to every subscriber, so an event is encoded
    once per format, not once per subscriber.
    """

    __slots__ = (
        "_cloud",
        "_plain",
        "cursor",
        "key",
        "row",
        "stream_id",
        "stream_type",
        "timeline",
        "type",
    )

    def __init__(self, row: Any, cursor: str) -> None:
        self.row = row
        self.cursor = cursor
        self.key: tuple[int, int] = (row[cols.TX], row[cols.POSITION])
        self.type: str = row[cols.TYPE]
        self.stream_type: str = row[cols.STREAM_TYPE]
        self.stream_id: str = row[cols.STREAM_ID]
        self.timeline: str | None = row[cols.TIMELINE]
        self._plain: bytes | None = None
        self._cloud: bytes | None = None

    def json(self, store: str, cloudevents: bool) -> bytes:
        """The event as JSON, plain or as a CloudEvent."""
        if cloudevents:
            if self._cloud is None:
                self._cloud = _encoder.encode(row_cloud_event(self.row, self.cursor, store))
            return self._cloud
        if self._plain is None:
            self._plain = _encoder.encode(row_event(self.row, self.cursor))
        return self._plain


def live_events(page: FeedRows) -> list[LiveEvent]:
    return [LiveEvent(r, c) for r, c in zip(page.rows, page.cursors, strict=True)]


_encoder = msgspec.json.Encoder()
