"""A standby that is down or frozen: reads go to the primary instead of answering 503.

The "standby" here is a port: one nothing listens on (down), or one that takes
connections and never says a word (frozen, so each connect waits out its
timeout). The primary is the session's database.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import make_key
from timeline.api.app import create_app
from timeline.config import Settings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Mute:
    """A server that accepts connections and never answers; counts what it accepted."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def mute() -> Iterator[Mute]:
    server = Mute()
    yield server
    server.close()


def _standby_url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


async def _write_and_read(app_settings: Settings, database_url: str, key: str) -> list[int]:
    """Statuses of: a write, a plain read, a read with min_position, and /health."""
    app = create_app(app_settings, database_url)
    auth = {"Authorization": f"Bearer {key}"}
    slug = f"t-down-{uuid.uuid4().hex[:8]}"
    async with AsyncTestClient(app, base_url="http://replica.local") as client:
        written = await client.post(
            "/v1/timelines", json={"slug": slug, "title": "T"}, headers=auth
        )
        read = await client.get(f"/v1/timelines/{slug}")
        position = written.headers.get("timeline-position", "1")
        pinned = await client.get(f"/v1/timelines/{slug}", params={"min_position": position})
        health = await client.get("/health")
        if read.status_code == 200:
            assert read.json()["slug"] == slug
        return [written.status_code, read.status_code, pinned.status_code, health.status_code]


async def test_reads_go_to_the_primary_while_the_standby_refuses_connections(
    database_url: str, engine: AsyncEngine
) -> None:
    settings = Settings(read_database_url=_standby_url(_closed_port()))
    statuses = await _write_and_read(settings, database_url, await make_key(engine, "write"))
    assert statuses == [201, 200, 200, 200]


async def test_a_frozen_standby_is_tried_once_per_rest_not_once_per_read(
    database_url: str, engine: AsyncEngine, mute: Mute
) -> None:
    app = create_app(Settings(read_database_url=_standby_url(mute.port)), database_url)
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    slug = f"t-frozen-{uuid.uuid4().hex[:8]}"
    async with AsyncTestClient(app, base_url="http://replica.local") as client:
        written = await client.post(
            "/v1/timelines", json={"slug": slug, "title": "T"}, headers=auth
        )
        assert written.status_code == 201
        first = await client.get(f"/v1/timelines/{slug}")  # waits out one connect timeout
        assert first.status_code == 200, first.text
        tried = len(mute.accepted)
        assert tried >= 1  # the standby was tried, and did not answer
        for _ in range(5):
            again = await client.get(f"/v1/timelines/{slug}", params={"as_of": "2020-10-20"})
            assert again.status_code == 200, again.text
        assert len(mute.accepted) == tried  # resting: the primary answered, untried
