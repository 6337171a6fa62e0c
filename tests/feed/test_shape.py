"""Feed rows become wire events: stored JSON passed through when current, upcast when old."""

from __future__ import annotations

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.store.test_upcast import V0_RECORDED, insert_raw
from timeline.feed.schemas import CloudEventSchema, FeedEventSchema
from timeline.feed.shape import (
    CURSOR,
    LiveEvent,
    live_columns,
    live_events,
    page_columns,
    shape_rows,
)
from timeline.store.cursor import encode_cursor
from timeline.store.feed import ROW_COLUMNS, FeedRows, store_id

# These tests use `conn`, rolled back: odd rows reach no other test. The feed does not serve
# a transaction's own uncommitted rows (they are past its horizon), so these select them
# directly, with the feed's own column lists.


async def own_rows(conn: AsyncConnection, stream_id: str, kind: str) -> tuple[str, FeedRows]:
    """The stream's rows selected as `kind` ("page", "live" or "row") selects them."""
    store = await store_id(conn)
    columns, cursor_column = {
        "page": (page_columns(store), CURSOR),
        "live": (live_columns(store), CURSOR),
        "row": (ROW_COLUMNS, None),
    }[kind]
    raw = await conn.get_raw_connection()
    rows = await raw.driver_connection.fetch(  # type: ignore[union-attr]
        f"SELECT {columns} FROM events WHERE stream_id = $1 ORDER BY position", stream_id
    )
    cursors = [encode_cursor(store, row["tx_id"], row["position"]) for row in rows]
    if cursor_column is not None:  # the cursor PostgreSQL made is the one Python makes
        assert [row[cursor_column] for row in rows] == cursors
    return store, FeedRows(rows=rows, cursors=cursors, next_cursor=cursors[-1], at_horizon=True)


async def test_an_old_row_is_upcast_to_the_current_shape_on_pages_and_streams(
    conn: AsyncConnection,
) -> None:
    await insert_raw(conn, "a-old", "AssertionRecorded", 0, V0_RECORDED)
    store, page = await own_rows(conn, "a-old", "page")
    [plain] = shape_rows(page, store, cloudevents=False)
    _, rows = await own_rows(conn, "a-old", "row")
    [cloud] = shape_rows(rows, store, cloudevents=True)
    _, live = await own_rows(conn, "a-old", "live")
    [entry] = live_events(live)
    for body in (
        msgspec.json.encode(plain),
        msgspec.json.encode(cloud),
        entry.message(store, False).data,
        entry.message(store, True).data,
    ):
        data = msgspec.json.decode(body)["data"]
        assert data["claimant"] == "Armenian Ministry of Defense"
        assert data["actors"] == ["Azerbaijan", "Armenia"]
        assert "claimed_by" not in data


async def test_every_wire_event_decodes_as_its_documented_schema(conn: AsyncConnection) -> None:
    await insert_raw(conn, "a-new", "TimelineRetitled", 1, {"slug": "s", "title": "Shusha"})
    store, page = await own_rows(conn, "a-new", "page")
    [plain] = shape_rows(page, store, cloudevents=False)
    _, live = await own_rows(conn, "a-new", "live")
    [entry] = live_events(live)
    assert isinstance(entry, LiveEvent)
    event = msgspec.json.decode(msgspec.json.encode(plain), type=FeedEventSchema)
    assert event.data == {"slug": "s", "title": "Shusha"}
    assert event.recorded_at.tzinfo is not None
    assert msgspec.json.decode(entry.message(store, False).data, type=FeedEventSchema) == event
    cloud = msgspec.json.decode(entry.message(store, True).data, type=CloudEventSchema)
    assert (cloud.subject, cloud.data) == ("assertion/a-new", event.data)
