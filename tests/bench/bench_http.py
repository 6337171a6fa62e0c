"""HTTP benchmark: GET a 50-assertion timeline page and POST an assertion, with wrk.

Baselines measured in the same run, on the same server process: a route doing
one asyncpg SELECT by primary key (the target: GET >= 0.5x of it) and a
hello-world route (the ceiling). Run on uvicorn, and on granian when it is
installed, to choose the server by measurement. All traffic is on 127.0.0.1,
each wrk run bounded in time. Without wrk the benchmark is skipped with a note.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, get

from tests.bench.harness import Bench
from timeline.api.app import create_app
from timeline.commands.handlers import open_timeline, record_assertion, register_source
from timeline.commands.keys import create_key
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.domain.commands import OpenTimeline, RecordAssertion, RegisterSource
from timeline.domain.values import Citation, Place
from timeline.store.db import asyncpg_dsn, create_engine

SECONDS = 8
CONNECTIONS = 32
SLUG = "bench-http"

_POOL: dict[str, asyncpg.Pool] = {}


@get("/bench/hello", sync_to_thread=False, include_in_schema=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


@get("/bench/select/{position:int}", include_in_schema=False)
async def select_by_pk(position: int) -> dict[str, Any]:
    row = await _POOL["pool"].fetchrow(
        "SELECT position, stream_id, version, type FROM events WHERE position = $1", position
    )
    return dict(row) if row else {}


async def _open_pool() -> None:
    _POOL["pool"] = await asyncpg.create_pool(
        asyncpg_dsn(os.environ["TIMELINE_DATABASE_URL"]), min_size=4, max_size=10
    )


def bench_app() -> Litestar:
    """The API plus the two baseline routes, on TIMELINE_DATABASE_URL (a server factory)."""
    app = create_app(
        Settings(),
        os.environ["TIMELINE_DATABASE_URL"],
        extra_route_handlers=[hello, select_by_pk],
    )
    app.on_startup.append(_open_pool)
    return app


async def _seed(database_url: str) -> str:
    """A timeline with 50 assertions and a write key; returns the key."""
    engine = create_engine(database_url)
    writer = Writer(engine)
    await open_timeline(writer, OpenTimeline(slug=SLUG, title="Bench", region="Caucasus"))
    await register_source(writer, RegisterSource(source_id="bbc", publisher="BBC", title="t"))
    for i in range(50):
        await record_assertion(
            writer,
            RecordAssertion(
                assertion_id=f"a-{i:03d}",
                timeline=SLUG,
                occurred=f"2020-10-{1 + i % 28:02d}",
                kind="shelling",
                summary=f"Stepanakert shelled, report {i}",
                place=Place(name="Stepanakert", lat=39.8, lon=46.75),
                actors=("Azerbaijan",),
                claimant="Armenia",
                citations=(Citation(source_id="bbc", quote="residents resorted to shelter"),),
                reported_at=datetime(2020, 10, 1 + i % 28, 12, tzinfo=UTC),
            ),
        )
    async with engine.begin() as conn:
        _, key = await create_key(conn, ["write"], "bench")
    await engine.dispose()
    return key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(server: str, port: int, database_url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TIMELINE_DATABASE_URL=database_url, TIMELINE_LOG_LEVEL="warning")
    target = "tests.bench.bench_http:bench_app"
    if server == "uvicorn":
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            target,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            target,
            "--port",
            str(port),
            "--no-ws",
            "--log-level",
            "warning",
        ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{server} did not start")


_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_P99 = re.compile(r"99%\s+([\d.]+)(us|ms|s)")


def _wrk(url: str, script: str | None = None) -> tuple[float, float]:
    """Requests/s and p99 latency in ms of `SECONDS` of wrk at CONNECTIONS connections."""
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 30).stdout
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if errors:
        print(f"    ({errors.group(1)} non-2xx answers from {url})", flush=True)
    rate = _RATE.search(out)
    p99 = _P99.search(out)
    if not rate or not p99:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale


def _post_script(key: str) -> str:
    body = msgspec.json.encode(
        {
            "occurred": "2020-10-08",
            "kind": "shelling",
            "summary": "Holy Savior Cathedral in Shusha shelled",
            "place": {"name": "Shusha", "lat": 39.7583, "lon": 46.7486, "precision": "town"},
            "actors": ["Azerbaijan"],
            "claimant": "Armenia",
            "citations": [{"source_id": "bbc", "quote": "Pictures showed great damage"}],
            "reported_at": "2020-10-08T15:00:00Z",
        }
    ).decode()
    lua = (
        'wrk.method = "POST"\n'
        f"wrk.body = [[{body}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
    return handle.name


def _servers() -> list[str]:
    servers = ["uvicorn"]
    try:
        import granian  # noqa: F401
    except ImportError:
        print("  granian is not installed: measuring uvicorn only", flush=True)
    else:
        servers.append("granian")
    return servers


async def run(bench: Bench, database_url: str) -> None:
    if shutil.which("wrk") is None:
        print("  wrk is not installed (`apt-get install wrk`): HTTP benchmark skipped", flush=True)
        return
    key = await _seed(database_url)
    script = _post_script(key)
    try:
        for server in _servers():
            await asyncio.to_thread(_measure, bench, server, database_url, script)
    finally:
        os.unlink(script)


def _measure(bench: Bench, server: str, database_url: str, script: str) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(server, port, database_url)
    try:
        _wrk(f"{base}/bench/hello")  # warm up
        hello_rps, hello_p99 = _wrk(f"{base}/bench/hello")
        select_rps, select_p99 = _wrk(f"{base}/bench/select/1")
        get_rps, get_p99 = _wrk(f"{base}/v1/timelines/{SLUG}?limit=50")
        post_rps, post_p99 = _wrk(f"{base}/v1/timelines/{SLUG}/assertions", script)
    finally:
        proc.terminate()
        proc.wait(30)
    suffix = "" if server == "uvicorn" else f".{server}"
    one = "one-SELECT route"
    bench.record(f"http.get_timeline{suffix}", get_rps, "req/s", one, select_rps)
    bench.record(
        f"http.get_timeline_p99{suffix}", get_p99, "ms", one, select_p99, higher_is_better=False
    )
    bench.record(f"http.post_assertion{suffix}", post_rps, "req/s", one, select_rps)
    bench.record(
        f"http.post_assertion_p99{suffix}", post_p99, "ms", one, select_p99, higher_is_better=False
    )
    bench.record(
        f"http.hello{suffix}",
        hello_rps,
        "req/s",
        one,
        select_rps,
        note=f"ceiling; p99 {hello_p99:.2f} ms",
    )
