"""`timeline relay status`: whether a relay runs, and how many settled events it has to publish."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.relay.conftest import Names, jetstream, wait_caught_up
from tests.store.streams import committed_append, fresh_stream, opened, retitled
from timeline.relay.publish import Relay, RelayOptions
from timeline.relay.status import relay_status


async def test_status_shows_a_running_relay_caught_up_then_a_stopped_one_lagging(
    relay_engine: AsyncEngine, relay_db: str, names: Names, nats_url: str
) -> None:
    stream = fresh_stream()
    await committed_append(relay_engine, stream, 0, [opened(stream), retitled(stream, "a")])
    assert await relay_status(relay_db) == []
    options = RelayOptions(nats_url=nats_url, stream=names.stream, subject_prefix=names.prefix)
    relay = Relay(relay_db, options, log=print)
    task = asyncio.create_task(relay.run())
    try:
        async with jetstream(nats_url) as (_, js):
            await wait_caught_up(js, names.stream, relay_engine)
        for _ in range(100):  # the checkpoint follows the last ack within a save
            (status,) = await relay_status(relay_db, names.stream)
            if status.lag_events == 0:
                break
            await asyncio.sleep(0.05)
        assert status.running
        assert status.lag_events == 0
        assert status.published == 2
    finally:
        relay.stop()
        await task
    await committed_append(relay_engine, stream, 2, [retitled(stream, "b")] * 3)
    (status,) = await relay_status(relay_db, names.stream)
    assert not status.running
    assert status.lag_events == 3
    assert status.lag_seconds >= 0
    # The command prints the same, as JSON.
    out = subprocess.run(  # noqa: ASYNC221 - the command, as an operator runs it
        [sys.executable, "-m", "timeline.cli", "relay", "status", "--json"],
        env={"TIMELINE_DATABASE_URL": relay_db, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (printed,) = msgspec.json.decode(out)
    assert printed["name"] == names.stream
    assert printed["lag_events"] == 3
    assert printed["running"] is False


async def test_status_of_a_relay_that_never_ran_counts_the_whole_feed(
    relay_engine: AsyncEngine, relay_db: str
) -> None:
    stream = fresh_stream()
    await committed_append(relay_engine, stream, 0, [opened(stream)])
    (status,) = await relay_status(relay_db, "NEVER_RAN")
    assert (status.cursor, status.running, status.lag_events) == (None, False, 1)
