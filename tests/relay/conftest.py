"""The relay's tests: a fresh database each, the machine's NATS, a stream name of their own.

Each test gets a database whose feed holds only what it writes, and a JetStream
stream and subject prefix nobody else uses, deleted afterwards. The relay runs
as the real command (`timeline relay nats`) in a child process, so a test can
SIGKILL it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pg import scratch_database
from tests.store.streams import committed_append, fresh_stream, opened, retitled
from timeline.migrate import migrate
from timeline.relay.broker import last_message_id
from timeline.store.db import create_engine
from timeline.store.feed import read_feed_rows, store_id

NATS_URL = os.environ.get("TIMELINE_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = "/usr/sbin/nats-server"
# Waiting for the relay to catch up, not timing it: the machine is shared.
PATIENCE = 90.0


def nats_answers(url: str = NATS_URL) -> bool:
    host, port = url.removeprefix("nats://").split(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=2):
        return True
    return False


@pytest.fixture(scope="session")
def nats_url() -> str:
    if not nats_answers():
        pytest.skip(f"no NATS server answers at {NATS_URL} (.ci/run starts one)")
    return NATS_URL


@pytest.fixture
def relay_db(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
async def relay_engine(relay_db: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(relay_db, pool_size=8)
    yield engine
    await engine.dispose()


class Names:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.stream = f"TLTEST_{tag}"
        self.prefix = f"tltest{tag}"


@pytest.fixture
async def names(nats_url: str) -> AsyncIterator[Names]:
    """A stream name and subject prefix of this test's own; the stream is deleted after."""
    names = Names()
    yield names
    await delete_stream(nats_url, names.stream)


async def delete_stream(url: str, name: str) -> None:
    with contextlib.suppress(Exception):
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
        try:
            with contextlib.suppress(NotFoundError):
                await nc.jetstream().delete_stream(name)
        finally:
            await nc.close()


@contextlib.asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=-1)
    try:
        yield nc, nc.jetstream(timeout=5)
    finally:
        await nc.close()


class RelayProcess:
    """`timeline relay nats` in a child process, its stderr in a file the test reads."""

    def __init__(
        self, database_url: str, nats_url: str, names: Names, log: Path, *extra: str
    ) -> None:
        self.log = log
        env = {**os.environ, "TIMELINE_DATABASE_URL": database_url}
        command = [
            sys.executable,
            "-m",
            "timeline.cli",
            "relay",
            "nats",
            "--server",
            nats_url,
            "--stream",
            names.stream,
            "--subject-prefix",
            names.prefix,
            "--checkpoint-every",
            "20",
            "--checkpoint-seconds",
            "0.2",
            *extra,
        ]
        self.stderr = log.open("ab")
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=self.stderr
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for(self, needle: str, count: int = 1, within: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while self.text().count(needle) < count:
            assert self.process.poll() is None, f"the relay exited:\n{self.text()}"
            assert asyncio.get_running_loop().time() < deadline, (
                f"never logged {needle!r}:\n{self.text()}"
            )
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> int:
        """Ask it to stop (SIGTERM), as an operator would; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.stderr.close()
        return self.process.returncode


class Relays:
    """Relay processes of one test; every one still running is killed at the end."""

    def __init__(self, database_url: str, nats_url: str, names: Names, folder: Path) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.names = names
        self.folder = folder
        self.started: list[RelayProcess] = []

    def start(self, *extra: str, nats_url: str | None = None) -> RelayProcess:
        log = self.folder / f"relay-{len(self.started)}.log"
        relay = RelayProcess(self.database_url, nats_url or self.nats_url, self.names, log, *extra)
        self.started.append(relay)
        return relay

    def kill_all(self) -> None:
        for relay in self.started:
            if relay.process.poll() is None:
                relay.process.kill()
                relay.process.wait(10)
            relay.stderr.close()


@pytest.fixture
def relays(relay_db: str, nats_url: str, names: Names, tmp_path: Path) -> Iterator[Relays]:
    relays = Relays(relay_db, nats_url, names, tmp_path)
    yield relays
    relays.kill_all()


class Writers:
    """`count` writers appending to streams of their own until stopped."""

    def __init__(
        self,
        engine: AsyncEngine,
        count: int,
        seed: int,
        pause: float = 0.005,
        *,
        ride_out: bool = False,
    ) -> None:
        self.engine = engine
        self.ride_out = ride_out  # go on writing after the database goes away
        self.rng = random.Random(seed)
        self.stopping = asyncio.Event()
        self.appended = 0
        self.pause = pause
        self.tasks = [asyncio.create_task(self._write()) for _ in range(count)]

    async def _write(self) -> None:
        stream = fresh_stream()
        version = 0
        while not self.stopping.is_set():
            n = self.rng.randrange(1, 4)
            events = [opened(stream) if version == 0 else retitled(stream, "r")]
            events += [retitled(stream, "x")] * (n - 1)
            try:
                await committed_append(self.engine, stream, version, events)
            except Exception:
                if not self.ride_out:
                    raise
                # The server went away: whether that append committed is unknown, so
                # go on in a new stream; the feed, not this count, is what tests compare.
                stream, version = fresh_stream(), 0
                await asyncio.sleep(0.1)
                continue
            version += n
            self.appended += n
            await asyncio.sleep(self.pause)

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks)


async def feed_cursors(engine: AsyncEngine) -> list[str]:
    """Every settled event's cursor, in feed order."""
    cursors: list[str] = []
    async with engine.connect() as conn:
        store = await store_id(conn)
        after = None
        while True:
            page = await read_feed_rows(conn, store, after, 1000)
            await conn.commit()
            cursors += page.cursors
            after = page.next_cursor
            if page.at_horizon:
                return cursors


async def stream_ids(js: JetStreamContext, name: str) -> list[str]:
    """The Nats-Msg-Id of every message in the stream, in stream order."""
    info = await js.stream_info(name)
    ids = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            message = await js.get_msg(name, seq=seq)
        except NotFoundError:  # deleted (a test that makes the broker lose messages)
            continue
        ids.append(str((message.headers or {})["Nats-Msg-Id"]))
    return ids


async def wait_caught_up(js: JetStreamContext, name: str, engine: AsyncEngine) -> list[str]:
    """Wait until the stream's last id is the feed's last cursor; the feed's cursors."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    expected = await feed_cursors(engine)
    while True:
        with contextlib.suppress(NotFoundError):
            if await last_message_id(js, name) == expected[-1]:
                return expected
        assert asyncio.get_running_loop().time() < deadline, "the relay never caught up"
        await asyncio.sleep(0.1)
