"""The relay puts every feed event in the JetStream stream exactly once, in feed order."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.relay.conftest import (
    Names,
    Relays,
    Writers,
    jetstream,
    stream_ids,
    wait_caught_up,
)

KILLS = 5


async def test_a_relay_killed_five_times_under_four_writers_publishes_each_event_once_in_order(
    relay_engine: AsyncEngine, relays: Relays, names: Names, nats_url: str
) -> None:
    rng = random.Random(16)
    writers = Writers(relay_engine, 4, seed=16)
    try:
        for kill in range(KILLS):
            relay = relays.start()
            await relay.wait_for("publishing")
            # A random point: mid-page, mid-batch, between a publish and its save.
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            relay.kill()
            assert relay.process.returncode == -9, f"kill {kill}: the relay had already exited"
    finally:
        await writers.stop()
    assert writers.appended > 200, "the writers barely wrote: nothing was tested"
    last = relays.start()
    async with jetstream(nats_url) as (_, js):
        expected = await wait_caught_up(js, names.stream, relay_engine)
        assert last.close() == 0
        published = await stream_ids(js, names.stream)
    assert len(published) == len(set(published)), "an event is in the stream twice"
    assert published == expected
    # Every restart resumed where the one before left off, not from the start.
    assert sum(r.text().count("after the start") for r in relays.started) == 1


async def test_a_durable_consumer_receives_the_feed_exactly_once_across_crashes(
    relay_engine: AsyncEngine, relays: Relays, names: Names, nats_url: str
) -> None:
    writers = Writers(relay_engine, 4, seed=7)
    async with jetstream(nats_url) as (_, js):
        received: list[str] = []
        try:
            for _ in range(2):
                relay = relays.start()
                await relay.wait_for("publishing")
                await asyncio.sleep(0.8)
                relay.kill()
        finally:
            await writers.stop()
        last = relays.start()
        expected = await wait_caught_up(js, names.stream, relay_engine)
        consumer = await js.pull_subscribe(f"{names.prefix}.>", durable="test", stream=names.stream)
        while len(received) < len(expected):
            for message in await consumer.fetch(500, timeout=5):
                received.append(str((message.headers or {})["Nats-Msg-Id"]))
                await message.ack()
        assert last.close() == 0
    assert received == expected
