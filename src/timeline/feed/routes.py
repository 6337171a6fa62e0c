"""GET /v1/events (pages) and GET /v1/events/stream (server-sent events)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from timeline.api.conditional import none_match
from timeline.domain.events import EVENT_TYPES
from timeline.feed.filters import STREAM_TYPES, FeedFilter
from timeline.feed.hub import Hub
from timeline.feed.schemas import PageSchema
from timeline.feed.shape import (
    CLOUDEVENTS_MEDIA_TYPE,
    CURSOR,
    FeedPageBody,
    page_columns,
    shape_rows,
)
from timeline.feed.stream import FeedStream
from timeline.store.db import connect
from timeline.store.errors import InvalidCursor
from timeline.store.feed import MAX_LIMIT, ROW_COLUMNS, read_feed_rows


class InvalidLastEventId(InvalidCursor):
    """A bad cursor sent as Last-Event-ID: the problem names the header, not `after`."""

    field = "Last-Event-ID"


# Seconds a client refused for too many streams should wait before trying again.
STREAMS_RETRY_AFTER = 5

# A full page below the horizon never changes (DESIGN §3.5): cache it for good.
IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"

Format = Literal["json", "cloudevents"]
After = Annotated[
    str | None, QueryParameter(description="the cursor of the last event seen (an event's `id`)")
]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="events per page")]
Types = Annotated[
    list[str] | None,
    QueryParameter(
        name="type",
        description="only these event types (repeatable): " + ", ".join(EVENT_TYPES),
    ),
]
FormatParam = Annotated[
    Format | None,
    QueryParameter(name="format", description="`cloudevents` for CloudEvents 1.0"),
]
Timeline = Annotated[str | None, QueryParameter(description="only this timeline's events")]
StreamType = Annotated[
    str | None, QueryParameter(description="only this stream type: " + ", ".join(STREAM_TYPES))
]
StreamId = Annotated[str | None, QueryParameter(description="only this stream id")]
LastEventId = Annotated[
    str | None, HeaderParameter(name="Last-Event-ID", description="resume after this event")
]

_encoder = msgspec.json.Encoder()


def wants_cloudevents(request: Request[Any, Any, Any], fmt: Format | None) -> bool:
    if fmt is not None:
        return fmt == "cloudevents"
    return CLOUDEVENTS_MEDIA_TYPE in request.headers.get("accept", "")


def _page_etag(*parts: object) -> str:
    digest = hashlib.sha256(_encoder.encode(parts)).hexdigest()[:32]
    return f'"{digest}"'


# The handler returns encoded bytes (stored JSON passed through); this documents what they are.
# Any: Litestar documents a union here, though data_container's type names classes only.
_PAGE_SCHEMA: Any = PageSchema
PAGE_RESPONSE = {
    200: ResponseSpec(
        data_container=_PAGE_SCHEMA,
        description="Events in feed order, and the cursor to send as `after` next",
        generate_examples=False,
    )
}


@get(
    "/",
    operation_id="ListEvents",
    summary="The global event feed, a page at a time",
    responses=PAGE_RESPONSE,
)
async def list_events(
    request: Request[Any, Any, Any],
    feed_hub: NamedDependency[Hub],
    feed_private: NamedDependency[bool],
    after: After = None,
    limit: Limit = 100,
    timeline: Timeline = None,
    types: Types = None,
    stream_type: StreamType = None,
    stream_id: StreamId = None,
    fmt: FormatParam = None,
) -> Response[bytes]:
    """Events after `after` in feed order; `next_cursor` is always present."""
    cloudevents = wants_cloudevents(request, fmt)
    wanted = FeedFilter.checked(tuple(types or ()), stream_type, stream_id, timeline)
    etag = _page_etag(
        after, limit, timeline, wanted.types, stream_type, stream_id, cloudevents, feed_private
    )
    if none_match(request.headers.get("if-none-match"), etag):
        # Only full pages get an ETag, and a full page never changes.
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    # connect(): a dead pooled connection is discarded, and the request gets a 503.
    async with connect(feed_hub.engine) as conn:
        page = await read_feed_rows(
            conn,
            feed_hub.store,
            after,
            limit,
            types=wanted.types,
            stream_type=wanted.stream_type,
            stream_id=wanted.stream_id,
            timeline=wanted.timeline,
            columns=ROW_COLUMNS if cloudevents else page_columns(feed_hub.store, feed_private),
            cursor_column=None if cloudevents else CURSOR,
        )
    body = FeedPageBody(
        events=shape_rows(page, feed_hub.store, cloudevents), next_cursor=page.next_cursor
    )
    # A page asked for with a key may hold what only that key may see: no shared cache
    # keeps it (RFC 9111 §5.2.2.7).
    keep = PRIVATE_IMMUTABLE if "authorization" in request.headers else IMMUTABLE
    headers = (
        {"Cache-Control": "no-cache"}
        if page.at_horizon
        else {
            "Cache-Control": keep,
            "ETag": etag,
        }
    )
    # What a page holds depends on the Authorization it came with (its metadata).
    headers["Vary"] = "Accept, Authorization"
    return Response(_encoder.encode(body), media_type="application/json", headers=headers)


@get("/stream", operation_id="StreamEvents", summary="The global event feed, live (SSE)")
async def stream_events(
    request: Request[Any, Any, Any],
    feed_hub: NamedDependency[Hub],
    feed_private: NamedDependency[bool],
    after: After = None,
    last_event_id: LastEventId = None,
    timeline: Timeline = None,
    types: Types = None,
    stream_type: StreamType = None,
    stream_id: StreamId = None,
    fmt: FormatParam = None,
) -> ServerSentEvent:
    """Catch up from `Last-Event-ID` or `after` (else now), then follow the feed live."""
    if feed_hub.streams >= feed_hub.max_streams:
        raise ServiceUnavailableException(
            f"this process serves at most {feed_hub.max_streams} streams; retry later",
            headers={"Retry-After": str(STREAMS_RETRY_AFTER)},
        )
    try:
        stream = FeedStream(
            feed_hub,
            feed_hub.engine,
            last_event_id or after or feed_hub.cursor,
            FeedFilter.checked(tuple(types or ()), stream_type, stream_id, timeline),
            cloudevents=wants_cloudevents(request, fmt),
            private=feed_private,
        )
    except InvalidCursor as error:
        if not last_event_id:
            raise
        raise InvalidLastEventId(str(error) or "not a cursor of this feed") from None
    return ServerSentEvent(stream.messages())
