"""Feed rows become wire events: stored JSON passed through when current, upcast when old."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec

from tests.store.test_upcast import V0_RECORDED
from timeline.feed.schemas import CloudEventSchema, FeedEventSchema
from timeline.feed.shape import row_cloud_event, row_event

RECORDED_AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def row(event_type: str, schema_version: int, data: object) -> tuple[object, ...]:
    """A read_feed_rows row, in ROW_COLUMNS order."""
    return (
        7,
        42,
        "assertion",
        "a-1",
        1,
        event_type,
        schema_version,
        json.dumps(data),
        '{"request_id": "r-1"}',
        "nagorno-karabakh-2020",
        None,
        RECORDED_AT,
    )


def test_a_current_row_passes_its_stored_json_through_byte_for_byte() -> None:
    stored = {"slug": "s", "title": "Shusha", "unknown_to_this_code": [1, 2]}
    event = row_event(row("TimelineRetitled", 1, stored), "cursor-1")
    assert bytes(event.data) == json.dumps(stored).encode()
    body = msgspec.json.decode(msgspec.json.encode(event))
    assert body["data"] == stored
    assert body["metadata"] == {"request_id": "r-1"}
    assert (body["id"], body["position"], body["version"]) == ("cursor-1", 42, 1)


def test_an_old_row_is_upcast_to_the_current_shape_on_the_feed() -> None:
    event = row_event(row("AssertionRecorded", 0, V0_RECORDED), "cursor-1")
    data = msgspec.json.decode(bytes(event.data))
    assert data["claimant"] == "Armenian Ministry of Defense"
    assert data["actors"] == ["Azerbaijan", "Armenia"]
    assert "claimed_by" not in data


def test_wire_events_decode_as_the_documented_schemas() -> None:
    r = row("AssertionRecorded", 0, V0_RECORDED)
    plain = msgspec.json.encode(row_event(r, "c"))
    cloud = msgspec.json.encode(row_cloud_event(r, "c", "store-1"))
    assert msgspec.json.decode(plain, type=FeedEventSchema).stream_id == "a-1"
    assert msgspec.json.decode(cloud, type=CloudEventSchema).subject == "assertion/a-1"
