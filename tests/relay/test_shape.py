"""What the relay publishes: subject by stream and event type, the feed's JSON or a CloudEvent."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.relay.conftest import Names, jetstream, wait_caught_up
from tests.store.streams import committed_append, fresh_stream, opened, retitled
from timeline.relay.publish import Relay, RelayOptions


@pytest.mark.parametrize("cloudevents", [False, True])
async def test_each_message_names_its_event_in_subject_id_and_body(
    relay_engine: AsyncEngine, relay_db: str, names: Names, nats_url: str, cloudevents: bool
) -> None:
    stream = fresh_stream()
    await committed_append(relay_engine, stream, 0, [opened(stream), retitled(stream, "New")])
    options = RelayOptions(
        nats_url=nats_url, stream=names.stream, subject_prefix=names.prefix, cloudevents=cloudevents
    )
    relay = Relay(relay_db, options, log=print)
    task = asyncio.create_task(relay.run())
    try:
        async with jetstream(nats_url) as (_, js):
            cursors = await wait_caught_up(js, names.stream, relay_engine)
            messages = [await js.get_msg(names.stream, seq=seq) for seq in (1, 2)]
    finally:
        relay.stop()
        await task
    subjects = [m.subject for m in messages]
    assert subjects == [
        f"{names.prefix}.timeline.TimelineOpened",
        f"{names.prefix}.timeline.TimelineRetitled",
    ]
    bodies = [msgspec.json.decode(m.data or b"") for m in messages]
    assert [(m.headers or {})["Nats-Msg-Id"] for m in messages] == cursors
    assert [b["id"] for b in bodies] == cursors
    if cloudevents:
        assert [b["type"] for b in bodies] == [
            "timeline.TimelineOpened",
            "timeline.TimelineRetitled",
        ]
        assert bodies[1]["specversion"] == "1.0"
        assert bodies[1]["subject"] == f"timeline/{stream.id}"
        assert bodies[1]["data"]["title"] == "New"
    else:  # the feed's own event, as GET /v1/events serves it
        assert [b["type"] for b in bodies] == ["TimelineOpened", "TimelineRetitled"]
        assert (bodies[1]["stream_id"], bodies[1]["version"]) == (stream.id, 2)
        assert bodies[1]["data"]["title"] == "New"
