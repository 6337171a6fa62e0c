"""Old event shapes are upcast on read; the stored rows stay as they were."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import AssertionRecorded
from timeline.domain.upcast import MissingUpcaster
from timeline.store.append import StreamRef
from timeline.store.codec import UnknownEventType
from timeline.store.read import read_stream

V0_RECORDED = {
    "assertion_id": "a-old",
    "timeline": "nagorno-karabakh-2020",
    "occurred": "2020-10-08",
    "kind": "shelling",
    "summary": "The cathedral in Shusha was shelled",
    "claimed_by": "Armenian Ministry of Defense",
    "actors": "Azerbaijan, Armenia ,",
    "reported_at": "2020-10-08T15:00:00Z",
}

_INSERT = text(
    "INSERT INTO events (stream_type, stream_id, version, type, schema_version, data) "
    "VALUES ('assertion', :id, 1, :type, :schema_version, CAST(:data AS jsonb))"
)


async def insert_raw(
    conn: AsyncConnection, stream_id: str, event_type: str, schema_version: int, data: object
) -> StreamRef:
    """A row as an older (or foreign) writer left it, written past the store's code."""
    await conn.execute(
        _INSERT,
        {
            "id": stream_id,
            "type": event_type,
            "schema_version": schema_version,
            "data": json.dumps(data),
        },
    )
    return StreamRef("assertion", stream_id)


# These tests use `conn`, rolled back: odd rows never reach other tests' feeds.


async def test_a_version_0_assertion_recorded_is_read_in_todays_shape(
    conn: AsyncConnection,
) -> None:
    stream = await insert_raw(conn, "a-old", "AssertionRecorded", 0, V0_RECORDED)
    [recorded] = await read_stream(conn, stream)
    assert isinstance(recorded.event, AssertionRecorded)
    assert recorded.event.claimant == "Armenian Ministry of Defense"
    assert recorded.event.actors == ("Azerbaijan", "Armenia")
    assert recorded.schema_version == 0
    stored = await conn.scalar(text("SELECT data FROM events WHERE stream_id = 'a-old'"))
    assert stored["claimed_by"] == "Armenian Ministry of Defense"  # never rewritten


async def test_a_shape_with_no_upcast_path_is_an_error(conn: AsyncConnection) -> None:
    stream = await insert_raw(conn, "a-revised-v0", "AssertionRevised", 0, {"assertion_id": "x"})
    with pytest.raises(MissingUpcaster, match="no upcaster for AssertionRevised v0"):
        await read_stream(conn, stream)


async def test_a_shape_newer_than_the_code_is_an_error(conn: AsyncConnection) -> None:
    stream = await insert_raw(conn, "a-future", "AssertionRecorded", 9, V0_RECORDED)
    with pytest.raises(MissingUpcaster, match="newer than this code"):
        await read_stream(conn, stream)


async def test_an_unknown_event_type_is_an_error(conn: AsyncConnection) -> None:
    stream = await insert_raw(conn, "a-unknown", "AssertionFrobnicated", 1, {})
    with pytest.raises(UnknownEventType):
        await read_stream(conn, stream)
