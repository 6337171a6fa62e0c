"""The relay survives its rival's death, a NATS restart and a lost ack, still exactly once."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats.errors
import pytest
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cluster import throwaway_cluster
from tests.relay.conftest import (
    NATS_SERVER,
    Names,
    Relays,
    Writers,
    jetstream,
    nats_answers,
    stream_ids,
    wait_caught_up,
)
from timeline.migrate import migrate
from timeline.relay.publish import Relay, RelayOptions
from timeline.store.db import create_engine


async def test_of_two_relays_one_publishes_and_the_other_takes_over_when_it_dies(
    relay_engine: AsyncEngine, relays: Relays, names: Names, nats_url: str
) -> None:
    first, second = relays.start(), relays.start()
    writers = Writers(relay_engine, 4, seed=2)
    try:
        waiting = "waiting to take over"
        deadline = asyncio.get_running_loop().time() + 30
        while not any("publishing" in r.text() for r in (first, second)) or not any(
            waiting in r.text() for r in (first, second)
        ):
            assert asyncio.get_running_loop().time() < deadline, first.text() + second.text()
            await asyncio.sleep(0.05)
        active, standby = (first, second) if "publishing" in first.text() else (second, first)
        assert "publishing" not in standby.text(), "both relays published at once"
        await asyncio.sleep(1.0)
        active.kill()
        await standby.wait_for("publishing")
        await asyncio.sleep(1.0)
    finally:
        await writers.stop()
    async with jetstream(nats_url) as (_, js):
        expected = await wait_caught_up(js, names.stream, relay_engine)
        published = await stream_ids(js, names.stream)
    assert standby.close() == 0
    assert published == expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """A JetStream server of the test's own, on a free port, with its own store folder."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        self.process = subprocess.Popen(
            [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        self.spawn()
        for _ in range(200):
            if nats_answers(self.url):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the test's nats-server never answered")

    def stop(self) -> None:
        """Stop it as its service would (SIGTERM): it closes every connection."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


@pytest.fixture
def own_nats() -> Iterator[NatsServer]:
    if not Path(NATS_SERVER).exists():
        pytest.skip(f"no {NATS_SERVER} (Debian's nats-server package) to run a server of our own")
    folder = Path(tempfile.mkdtemp(prefix="timeline-nats-"))
    server = NatsServer(folder)
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_relay_rides_out_a_nats_restart_mid_stream_and_loses_nothing(
    relay_engine: AsyncEngine, relays: Relays, names: Names, own_nats: NatsServer
) -> None:
    await own_nats.start()
    relay = relays.start(nats_url=own_nats.url)
    writers = Writers(relay_engine, 4, seed=3)
    try:
        await relay.wait_for("publishing")
        await asyncio.sleep(1.0)
        own_nats.stop()
        await asyncio.sleep(3.0)  # longer than a publish waits for its ack; writers go on
        await own_nats.start()
        await asyncio.sleep(1.0)
    finally:
        await writers.stop()
    async with jetstream(own_nats.url) as (_, js):
        expected = await wait_caught_up(js, names.stream, relay_engine)
        published = await stream_ids(js, names.stream)
    assert relay.close() == 0
    assert "publish failed" in relay.text() or "starting again" in relay.text()
    assert published == expected


@pytest.mark.parametrize("lost", ["message", "ack"])
async def test_a_publish_whose_message_or_ack_was_lost_is_sent_again_and_stored_once(
    relay_engine: AsyncEngine,
    names: Names,
    nats_url: str,
    monkeypatch: pytest.MonkeyPatch,
    lost: str,
) -> None:
    writers = Writers(relay_engine, 2, seed=4)
    while writers.appended < 60:  # noqa: ASYNC110 - the writers keep a count, not an event
        await asyncio.sleep(0.05)
    await writers.stop()
    publish = JetStreamContext.publish
    calls = 0

    async def lose_every_7th(self: JetStreamContext, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls % 7 == 0 and lost == "message":
            raise nats.errors.TimeoutError  # it never reached the broker
        ack = await publish(self, *args, **kwargs)  # the broker stores it...
        if calls % 7 == 0:
            raise nats.errors.TimeoutError  # ...and its ack never comes back
        return ack

    monkeypatch.setattr(JetStreamContext, "publish", lose_every_7th)
    options = RelayOptions(nats_url=nats_url, stream=names.stream, subject_prefix=names.prefix)
    relay = Relay(relay_engine.url.render_as_string(hide_password=False), options, log=print)
    task = asyncio.create_task(relay.run())
    try:
        async with jetstream(nats_url) as (_, js):
            expected = await wait_caught_up(js, names.stream, relay_engine)
            published = await stream_ids(js, names.stream)
    finally:
        relay.stop()
        await task
    assert calls > len(expected), "no publish was retried"
    assert published == expected


async def test_a_relay_rides_out_a_postgresql_restart_mid_stream_and_loses_nothing(
    names: Names, nats_url: str, tmp_path: Path
) -> None:
    with throwaway_cluster() as cluster:
        await asyncio.to_thread(migrate, cluster.url)
        engine = create_engine(cluster.url, pool_size=6)
        relays = Relays(cluster.url, nats_url, names, tmp_path)
        try:
            relay = relays.start()
            writers = Writers(engine, 4, seed=5, ride_out=True)
            try:
                await relay.wait_for("publishing")
                await asyncio.sleep(1.0)
                await asyncio.to_thread(cluster.restart)
                await relay.wait_for("publishing", count=2)  # it took the lock again
                await asyncio.sleep(1.0)
            finally:
                await writers.stop()
            async with jetstream(nats_url) as (_, js):
                expected = await wait_caught_up(js, names.stream, engine)
                published = await stream_ids(js, names.stream)
            assert relay.close() == 0
        finally:
            relays.kill_all()
            await engine.dispose()
    assert "starting again" in relay.text()
    assert published == expected


async def test_a_stream_that_lost_acknowledged_messages_gets_them_again_in_order(
    relay_engine: AsyncEngine, relays: Relays, names: Names, nats_url: str
) -> None:
    # What the Jepsen NATS 2.12.1 analysis found a broker may do (lose acknowledged
    # writes it had not yet flushed): here the stream's last messages are deleted
    # after the relay saved its checkpoint past them, and the short duplicate window
    # has passed, as it has on a broker that lost its state.
    writers = Writers(relay_engine, 2, seed=6)
    while writers.appended < 40:  # noqa: ASYNC110 - the writers keep a count, not an event
        await asyncio.sleep(0.05)
    await writers.stop()
    window = ("--duplicate-window", "1", "--checkpoint-seconds", "0.2")
    first = relays.start(*window)
    async with jetstream(nats_url) as (_, js):
        expected = await wait_caught_up(js, names.stream, relay_engine)
        await asyncio.sleep(0.5)  # the checkpoint is saved past the end
        assert first.close() == 0
        info = await js.stream_info(names.stream)
        for seq in range(info.state.last_seq - 4, info.state.last_seq + 1):
            await js.delete_msg(names.stream, seq)
        assert await stream_ids(js, names.stream) == expected[:-5]
        await asyncio.sleep(1.5)  # past the duplicate window
        second = relays.start(*window)
        await wait_caught_up(js, names.stream, relay_engine)
        published = await stream_ids(js, names.stream)
    assert second.close() == 0
    assert "lost acknowledged messages" in second.text()
    assert published == expected
