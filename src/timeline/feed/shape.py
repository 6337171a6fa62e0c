"""The feed's wire shapes: the plain event (DESIGN §5) and its CloudEvents 1.0 envelope.

A plain event is built as JSON by PostgreSQL itself (event_json_sql), its
cursor as `id`, stored `data` and `metadata` inside it untouched, so a page
costs Python one string per event. Rows whose schema is old are upcast.
CloudEvents are made here from the row's columns.
`feed/schemas.py` describes both shapes for OpenAPI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

import msgspec
from litestar.response import ServerSentEventMessage

from timeline.domain.events import EVENT_TYPES
from timeline.store.codec import decode_data, encode_data
from timeline.store.cursor import cursor_sql
from timeline.store.feed import ROW_COLUMNS, FeedRows

CLOUDEVENTS_MEDIA_TYPE = "application/cloudevents+json"

_CURRENT = {name: cls.schema_version for name, cls in EVENT_TYPES.items()}


def _utc(column: str) -> str:
    # RFC 3339 in UTC whatever the session's TimeZone.
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


# What a reader without a `read` key sees of an event's metadata (docs/feed.md): why it
# happened (the event that caused it), never who wrote it (`actor`, a key's id) or in
# which request (`request_id`, `correlation_id`). A key added later stays private.
PUBLIC_METADATA = ("causation_id",)


def _metadata_sql(private: bool) -> str:
    if private:
        return "metadata"
    pairs = ", ".join(f"'{name}', metadata->'{name}'" for name in PUBLIC_METADATA)
    return f"jsonb_strip_nulls(jsonb_build_object({pairs}))"


@cache
def event_json_sql(store: str, private: bool = True) -> str:
    """The plain event as JSON text, built by PostgreSQL, in the order DESIGN §5 lists it;
    its metadata whole when `private`, else only PUBLIC_METADATA."""
    return (
        f"json_build_object('id', {cursor_sql(store)}, 'type', type, "
        "'stream_type', stream_type, 'stream_id', stream_id, "
        f"'version', version, 'data', data, 'reported_at', {_utc('reported_at')}, "
        f"'recorded_at', {_utc('recorded_at')}, 'timeline', timeline, 'position', position, "
        f"'schema_version', schema_version, 'metadata', {_metadata_sql(private)}, 'log_index', "
        "(SELECT leaf_index FROM log_leaves WHERE log_leaves.position = events.position))::text"
    )


# The columns page_columns and live_columns add: the event's cursor, its plain JSON, and
# (live) its plain JSON with only the public metadata.
CURSOR, JSON, PUBLIC_JSON = "cursor", "json", "public_json"


@cache
def page_columns(store: str, private: bool = True) -> str:
    """A page of plain events: cursor parts, the cursor, what decides an upcast, the JSON."""
    return (
        f"tx_id::text::bigint AS tx_id, position, {cursor_sql(store)} AS {CURSOR}, type, "
        f"schema_version, {event_json_sql(store, private)} AS {JSON}"
    )


@cache
def live_columns(store: str) -> str:
    """The live path: every column (filters, CloudEvents), the cursor, the plain JSON with
    its whole metadata and with the public part only (one read serves both readers)."""
    return (
        f"{ROW_COLUMNS}, {cursor_sql(store)} AS {CURSOR}, {event_json_sql(store)} AS {JSON}, "
        f"{event_json_sql(store, private=False)} AS {PUBLIC_JSON}"
    )


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
    events: Sequence[msgspec.Raw | CloudEvent]
    next_cursor: str


def current_data(event_type: str, schema_version: int, data: str) -> msgspec.Raw:
    """The stored JSON as is when its shape is current, else upcast to the current shape."""
    if _CURRENT.get(event_type) == schema_version:
        return msgspec.Raw(data)
    return msgspec.Raw(encode_data(decode_data(event_type, schema_version, data)))


def event_text(event_type: str, schema_version: int, text: str) -> str:
    """A plain event from its event_json_sql text, its `data` upcast when its shape is old."""
    if _CURRENT.get(event_type) == schema_version:
        return text
    event = msgspec.json.decode(text)
    current = decode_data(event_type, schema_version, event["data"])
    event["data"] = msgspec.Raw(encode_data(current))
    return _encoder.encode(event).decode()


def row_cloud_event(row: Any, cursor: str, store: str) -> CloudEvent:
    """A CloudEvent from a read_feed_rows row of ROW_COLUMNS (or more)."""
    stream_type, stream_id, event_type = row["stream_type"], row["stream_id"], row["type"]
    schema_version = row["schema_version"]
    return CloudEvent(
        specversion="1.0",
        id=cursor,
        source=f"urn:timeline:store:{store}",
        type=f"timeline.{event_type}",
        time=row["recorded_at"],
        subject=f"{stream_type}/{stream_id}",
        datacontenttype="application/json",
        dataschemaversion=schema_version,
        data=current_data(event_type, schema_version, row["data"]),
        streamtype=stream_type,
        streamid=stream_id,
        streamversion=row["version"],
        timeline=row["timeline"],
        reportedat=row["reported_at"],
    )


def shape_rows(page: FeedRows, store: str, cloudevents: bool) -> Sequence[msgspec.Raw | CloudEvent]:
    """A page's rows as the client asked for them: read with page_columns, or ROW_COLUMNS
    for CloudEvents."""
    if cloudevents:
        return [row_cloud_event(r, c, store) for r, c in zip(page.rows, page.cursors, strict=True)]
    raw = msgspec.Raw
    return [raw(event_text(r["type"], r["schema_version"], r[JSON])) for r in page.rows]


class SharedMessage(ServerSentEventMessage):
    """A server-sent event framed once, then written as is to every subscriber's stream."""

    def __init__(self, data: str, id: str, event: str) -> None:
        super().__init__(data=data, id=id, event=event)
        self._frame = super().encode()

    def encode(self) -> bytes:
        return self._frame


class LiveEvent:
    """One row of the feed for the live path: what filters test, and its message made once.

    The hub hands the same LiveEvent to every subscriber, so an event is encoded
    and framed once per format, not once per subscriber.
    """

    __slots__ = (
        "_cloud",
        "_plain",
        "_public",
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
        self.key: tuple[int, int] = (row["tx_id"], row["position"])
        self.type: str = row["type"]
        self.stream_type: str = row["stream_type"]
        self.stream_id: str = row["stream_id"]
        self.timeline: str | None = row["timeline"]
        self._plain: SharedMessage | None = None
        self._public: SharedMessage | None = None
        self._cloud: SharedMessage | None = None

    def message(self, store: str, cloudevents: bool, private: bool = True) -> SharedMessage:
        """The event as a server-sent event, its data plain or a CloudEvent (which carries
        no metadata); a plain one with its whole metadata only when `private`."""
        if cloudevents:
            if self._cloud is None:
                cloud = _encoder.encode(row_cloud_event(self.row, self.cursor, store)).decode()
                self._cloud = SharedMessage(cloud, self.cursor, self.type)
            return self._cloud
        if not private:
            if self._public is None:
                self._public = self._framed(PUBLIC_JSON)
            return self._public
        if self._plain is None:
            self._plain = self._framed(JSON)
        return self._plain

    def _framed(self, column: str) -> SharedMessage:
        row = self.row
        plain = event_text(self.type, row["schema_version"], row[column])
        return SharedMessage(plain, self.cursor, self.type)


def live_events(page: FeedRows) -> list[LiveEvent]:
    return [LiveEvent(r, c) for r, c in zip(page.rows, page.cursors, strict=True)]


_encoder = msgspec.json.Encoder()
