"""`timeline serve` on a throwaway cluster, and the HTTP steps the fault tests share."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.feed.sse import messages

ROOT = Path(__file__).resolve().parents[2]
TIMELINE = str(Path(sys.executable).parent / "timeline")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TIMELINE_DATABASE_URL": database_url,
        "TIMELINE_LOG_LEVEL": "info",
        # Writers here load the server on purpose: the write rate limit is not under test.
        "TIMELINE_WRITE_RATE_LIMIT": "0",
        # Nor is the log's sequencer (tests/tlog has its own servers with it on).
        "TIMELINE_LOG_SEQUENCER": "false",
        **extra,
    }


def cli(database_url: str, *args: str) -> str:
    """Run the CLI on `database_url`; its stdout."""
    done = subprocess.run(
        [TIMELINE, *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def write_key(database_url: str) -> str:
    return cli(database_url, "keys", "create", "--scope", "write", "--name", "faults").split()[-1]


@dataclass
class Server:
    """One API process, its stderr going to a file (a pipe nobody reads would fill and
    block the server's logging)."""

    process: subprocess.Popen[str]
    base: str
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode


@contextlib.contextmanager
def serve(database_url: str, **env: str) -> Iterator[Server]:
    """`timeline serve` on a free port, up once /health answers 200."""
    port = _free_port()
    log = Path(tempfile.mkstemp(prefix="timeline-serve-", suffix=".log")[1])
    with log.open("w") as err:
        process = subprocess.Popen(
            [TIMELINE, "serve", "--port", str(port)],
            env=_env(database_url, **env),
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            cwd=ROOT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.base + "/health", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"timeline serve did not start:\n{server.log}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            server.stop()
        log.unlink(missing_ok=True)


def assertion_body(n: int) -> dict[str, Any]:
    return {
        "occurred": "2020-10-08",
        "kind": "shelling",
        "summary": f"Shusha shelled ({n})",
        "actors": ["Azerbaijan"],
        "quantities": [],
        "claimant": "Armenia",
        "reported_at": "2020-10-08T15:00:00Z",
        "citations": [],
    }


async def open_timeline(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    slug = "f-" + uuid.uuid4().hex[:10]
    body = {"slug": slug, "title": "Faults", "description": "", "region": "Caucasus"}
    response = await client.post("/v1/timelines", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return slug


def assert_unavailable(response: httpx.Response) -> None:
    """A 503 as promised: problem+json naming the reason, with Retry-After."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert response.json()["status"] == 503
    assert int(response.headers["retry-after"]) >= 1


@dataclass
class Writers:
    """Concurrent writers posting assertions; what was acknowledged and what else they saw."""

    acknowledged: list[str] = field(default_factory=list)
    unavailable: int = 0
    other: list[tuple[int, str]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(
        self, client: httpx.AsyncClient, auth: dict[str, str], slug: str, count: int
    ) -> None:
        await asyncio.gather(*(self._one(client, auth, slug, i) for i in range(count)))

    async def _one(
        self, client: httpx.AsyncClient, auth: dict[str, str], slug: str, worker: int
    ) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            response = await client.post(
                f"/v1/timelines/{slug}/assertions",
                json=assertion_body(worker * 100_000 + n),
                headers=auth,
            )
            if response.status_code == 201:
                self.acknowledged.append(response.json()["id"])
            elif response.status_code == 503:
                assert_unavailable(response)
                self.unavailable += 1
                await asyncio.sleep(0.05)
            else:
                self.other.append((response.status_code, response.text[:300]))


async def until_serving(client: httpx.AsyncClient, within: float = 20.0) -> float:
    """Seconds until /health answers 200 again."""
    start = time.monotonic()
    while True:
        response = await client.get("/health")
        if response.status_code == 200:
            return time.monotonic() - start
        assert_unavailable(response)
        assert time.monotonic() - start < within, "the API did not recover"
        await asyncio.sleep(0.1)


async def feed_ids(client: httpx.AsyncClient, slug: str) -> list[str]:
    """The stream ids of every AssertionRecorded of `slug` in the paged feed, in feed order."""
    ids: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"timeline": slug, "limit": 1000, "type": "AssertionRecorded"}
        if after:
            params["after"] = after
        response = await client.get("/v1/events", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [event["stream_id"] for event in page["events"]]
        if not page["events"]:
            return ids
        after = page["next_cursor"]


async def sse_ids(
    client: httpx.AsyncClient, slug: str, after: str | None, wanted: set[str], within: float
) -> list[str]:
    """AssertionRecorded stream ids from the SSE feed, resuming by Last-Event-ID when a
    stream ends, until every wanted id has arrived (or `within` seconds have passed)."""
    seen: list[str] = []
    last = after
    deadline = time.monotonic() + within
    while not wanted <= set(seen) and time.monotonic() < deadline:
        headers = {"Last-Event-ID": last} if last else {}
        params = {"timeline": slug, "type": "AssertionRecorded"}
        with contextlib.suppress(httpx.HTTPError):
            async with client.stream(
                "GET", "/v1/events/stream", params=params, headers=headers, timeout=5
            ) as response:
                if response.status_code != 200:
                    await asyncio.sleep(0.2)
                    continue
                async for message in messages(response):
                    if message.id and message.data:
                        last = message.id
                        seen.append(json.loads(message.data)["stream_id"])
                        if wanted <= set(seen):
                            break
        await asyncio.sleep(0.1)
    return seen
