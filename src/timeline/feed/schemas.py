"""The feed's shapes as OpenAPI shows them.

The wire structs (`feed/shape.py`) pass stored JSON through as msgspec.Raw,
which has no schema; these mirror them field for field with `data` and
`metadata` as objects. A test decodes real pages into these, so the two
cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

Data = Annotated[
    dict[str, Any],
    msgspec.Meta(description="the event's fields, in the shape of its current schema_version"),
]


class FeedEventSchema(msgspec.Struct, frozen=True, kw_only=True):
    """One event of the feed; `id` is its cursor: send it as `after` to resume after it."""

    id: Annotated[str, msgspec.Meta(description="this event's cursor (opaque, URL-safe)")]
    type: Annotated[str, msgspec.Meta(examples=["AssertionRecorded"])]
    stream_type: Annotated[str, msgspec.Meta(examples=["assertion"])]
    stream_id: str
    version: Annotated[int, msgspec.Meta(description="the event's version in its stream")]
    data: Data
    reported_at: Annotated[datetime | None, msgspec.Meta(description="knowledge time")]
    recorded_at: Annotated[datetime, msgspec.Meta(description="system time")]
    timeline: str | None
    position: Annotated[int, msgspec.Meta(description="the store's global position")]
    schema_version: int
    metadata: dict[str, Any]
    log_index: Annotated[
        int | None,
        msgspec.Meta(description="its leaf in the verifiable log (docs/log.md); null until then"),
    ] = None


class CloudEventSchema(msgspec.Struct, frozen=True, kw_only=True):
    """The event as a CloudEvents 1.0 JSON envelope (`?format=cloudevents`)."""

    specversion: Annotated[str, msgspec.Meta(examples=["1.0"])]
    id: Annotated[str, msgspec.Meta(description="this event's cursor")]
    source: Annotated[str, msgspec.Meta(examples=["urn:timeline:store:<store id>"])]
    type: Annotated[str, msgspec.Meta(examples=["timeline.AssertionRecorded"])]
    time: Annotated[datetime, msgspec.Meta(description="recorded_at")]
    subject: Annotated[str, msgspec.Meta(description="stream_type/stream_id")]
    datacontenttype: str
    dataschemaversion: int
    data: Data
    streamtype: str
    streamid: str
    streamversion: int
    timeline: str | None
    reportedat: datetime | None


NextCursor = Annotated[
    str,
    msgspec.Meta(description="send as `after` for the next page; your own cursor when empty"),
]


class FeedPageSchema(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the feed, in feed order."""

    events: list[FeedEventSchema]
    next_cursor: NextCursor


class CloudEventPageSchema(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the feed as CloudEvents (`?format=cloudevents`), in feed order."""

    events: list[CloudEventSchema]
    next_cursor: NextCursor


PageSchema = FeedPageSchema | CloudEventPageSchema
