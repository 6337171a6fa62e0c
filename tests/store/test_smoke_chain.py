from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from timeline.domain.events import TimelineOpened
from timeline.store.append import StreamRef, append_to_stream
from timeline.store.read import read_stream


async def test_an_appended_event_is_read_back(conn: AsyncConnection) -> None:
    stream = StreamRef("timeline", "chain-check")
    result = await append_to_stream(
        conn, stream, 0, [TimelineOpened(slug="chain-check", title="T")]
    )
    assert result.version == 1
    events = await read_stream(conn, stream)
    assert [e.event for e in events] == [TimelineOpened(slug="chain-check", title="T")]
