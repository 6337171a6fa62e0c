"""SIGTERM with an open stream: `timeline serve` ends it cleanly and exits at once, status 0.

The server runs as a subprocess (`python -m timeline.cli serve`) on a migrated
scratch database; a raw HTTP client holds a stream open, so what is checked is
the bytes on the wire: a complete chunked body whose last message is a comment
and a retry hint. Then a new server resumes the stream by Last-Event-ID and
delivers the events written meanwhile, each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline
from tests.pg import scratch_database
from timeline.feed.notify import send_wakeup
from timeline.migrate import migrate
from timeline.store.db import create_engine

# Generous: the server is to exit within about a second; this is a shared, noisy machine.
EXIT_BOUND_SECONDS = 5.0


@pytest.fixture(scope="module")
def own_database(postgres_server: str) -> Iterator[str]:
    with scratch_database(postgres_server) as url:
        migrate(url)
        yield url


@pytest.fixture
async def own_engine(own_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(own_database, pool_size=2)
    yield engine
    await engine.dispose()


class Served:
    """A `timeline serve` process on a free port, its stderr in a file."""

    def __init__(self, database_url: str, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.database_url = database_url
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "TIMELINE_DATABASE_URL": self.database_url,
            "TIMELINE_LOG_LEVEL": "info",
        }
        with self.log.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "timeline.cli", "serve"),
                *("--host", "127.0.0.1", "--port", str(self.port)),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get(f"http://127.0.0.1:{self.port}/health")
                    if response.status_code == 200:
                        return
                assert self.process.returncode is None, self.log.read_text()
                await asyncio.sleep(0.05)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


@pytest.fixture
def servers() -> Iterator[list[Served]]:
    """Servers the test starts; any still running at its end (a failure) are killed."""
    started: list[Served] = []
    yield started
    for served in started:
        served.kill()


class RawStream:
    """GET /v1/events/stream over a bare socket, reading the chunked body chunk by chunk."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.body = b""
        self.complete = False  # the zero-length chunk that ends a chunked body arrived

    @classmethod
    async def open(cls, port: int, headers: dict[str, str] | None = None) -> RawStream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            f"GET /v1/events/stream HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n"
            f"{extra}\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"transfer-encoding: chunked" in head.lower(), head
        return cls(reader, writer)

    async def read_chunk(self) -> bool:
        """One more chunk into `body`; False at the end of the body or of the connection."""
        size_line = await self.reader.readline()
        if not size_line:
            return False  # the connection closed without the terminator
        size = int(size_line.strip().split(b";")[0], 16)
        if size == 0:
            self.complete = await self.reader.readexactly(2) == b"\r\n"
            return False
        self.body += await self.reader.readexactly(size)
        assert await self.reader.readexactly(2) == b"\r\n"
        return True

    async def until(self, text: bytes) -> None:
        while text not in self.body:
            assert await self.read_chunk(), self.body

    async def to_the_end(self) -> None:
        while await self.read_chunk():
            pass

    def close(self) -> None:
        self.writer.close()

    def messages(self) -> list[list[str]]:
        """The body's messages, each as its lines."""
        text = self.body.decode().replace("\r\n", "\n")
        return [m.split("\n") for m in text.split("\n\n") if m]

    def ids(self) -> list[str]:
        return [line[4:] for m in self.messages() for line in m if line.startswith("id: ")]

    def positions(self) -> list[int]:
        return [
            int(json.loads(line[6:])["position"])
            for m in self.messages()
            for line in m
            if line.startswith("data: ")
        ]

    async def until_position(self, position: int) -> None:
        while position not in self.positions():
            assert await self.read_chunk(), self.body


async def test_sigterm_ends_open_streams_cleanly_exits_0_at_once_and_resuming_loses_nothing(
    own_database: str, own_engine: AsyncEngine, servers: list[Served], tmp_path: Path
) -> None:
    first = Served(own_database, tmp_path / "first.log")
    servers.append(first)
    await first.start()
    stream = await RawStream.open(first.port)
    await stream.until(b"retry:")  # the stream's opening hint: it is registered or about to be
    written = await append_timeline(own_engine, f"before-{uuid.uuid4().hex[:8]}")
    await send_wakeup(own_database)
    await stream.until_position(written[0])
    [seen] = stream.ids()
    assert first.process is not None

    signalled = time.monotonic()
    first.process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(stream.to_the_end(), EXIT_BOUND_SECONDS)
    status = await asyncio.wait_for(first.process.wait(), EXIT_BOUND_SECONDS)
    took = time.monotonic() - signalled
    stream.close()

    assert stream.complete, "the chunked body ended without its terminator"
    last = stream.messages()[-1]
    assert any(line.startswith(":") for line in last), last
    assert any(line.startswith("retry: ") for line in last), last
    assert not any(line.startswith("id: ") for line in last)
    assert status == 0
    assert took < EXIT_BOUND_SECONDS
    log = first.log.read_text()
    assert "Traceback" not in log
    levels = [json.loads(line)["level"] for line in log.splitlines() if line.startswith("{")]
    assert "error" not in levels, log
    assert "critical" not in levels, log

    # Written while no server runs; a new one resumes from the last id seen.
    meanwhile = [
        p for _ in range(3) for p in await append_timeline(own_engine, f"m-{uuid.uuid4().hex[:8]}")
    ]
    second = Served(own_database, tmp_path / "second.log")
    servers.append(second)
    await second.start()
    resumed = await RawStream.open(second.port, {"Last-Event-ID": seen})
    marker = await append_timeline(own_engine, f"marker-{uuid.uuid4().hex[:8]}")
    await send_wakeup(own_database)
    await resumed.until_position(marker[0])
    resumed.close()
    assert resumed.positions() == [*meanwhile, *marker]
    assert second.process is not None
    second.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.process.wait(), EXIT_BOUND_SECONDS) == 0
