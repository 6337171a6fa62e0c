"""HTTP benchmark with wrk: the API's GET and POST beside bare Litestar routes, one server.

One uvicorn process (one worker) serves the API and three baseline routes on the
same database: a hello-world (the ceiling), one asyncpg SELECT by primary key,
and one asyncpg INSERT of the posted JSON. wrk runs CONNECTIONS connections for
SECONDS at a time; every figure and its baseline are measured in ROUNDS slices
taken in turn, so the machine's drifting load hits both alike.

- http.get_timeline: GET a 50-assertion page, vs the one-SELECT route;
- http.get_timeline_304: the same GET with If-None-Match of its ETag, vs the same;
- http.post_assertion: POST an assertion (no Idempotency-Key: each creates one)
  into a timeline that starts empty, vs the one-INSERT route;
- http.post_assertion@100k: the same POST into a timeline already holding
  100,000 assertions, vs http.post_assertion.

Without wrk the benchmark is skipped with a note.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import msgspec
from litestar import Litestar, get, post
from sqlalchemy import text

from tests.bench import entry, fill, serve
from tests.bench.harness import Bench
from timeline.store.db import asyncpg_dsn

# Shared with bench_scale, which measures reads on the same 1k and 100k timelines.
DATABASE = "scale"

SECONDS = 4
ROUNDS = 2
CONNECTIONS = 32
PAGE = "bench-http"  # 50 assertions
EMPTY = "bench-empty"  # starts empty; the plain POST goes here
BIG = fill.BIG  # 100,000 assertions
RAW_TABLE = "bench_http_rows"

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


@post("/bench/insert", include_in_schema=False)
async def insert_one(data: dict[str, Any]) -> dict[str, int]:
    """The posted JSON, decoded by Litestar as any route's body is, in one INSERT."""
    row_id = await _POOL["pool"].fetchval(
        f"INSERT INTO {RAW_TABLE} (data) VALUES ($1::jsonb) RETURNING id",
        msgspec.json.encode(data).decode(),
    )
    return {"id": row_id}


async def _open_pool() -> None:
    _POOL["pool"] = await asyncpg.create_pool(
        asyncpg_dsn(os.environ["TIMELINE_DATABASE_URL"]), min_size=4, max_size=10
    )


async def _close_pool() -> None:
    if "pool" in _POOL:
        await _POOL.pop("pool").close()


def bench_app() -> Litestar:
    """The API plus the baseline routes, on TIMELINE_DATABASE_URL (a server factory)."""
    app = entry.api_app(os.environ["TIMELINE_DATABASE_URL"], [hello, select_by_pk, insert_one])
    app.on_startup.append(_open_pool)
    app.on_shutdown.insert(0, _close_pool)
    return app


# The posted assertion: dated after every seeded one, so the reads of bench_scale
# (windows within 2018-2020) are not changed by what this benchmark adds.
BODY = {
    "occurred": "2021-06-15",
    "kind": "shelling",
    "summary": "Holy Savior Cathedral in Shusha shelled",
    "place": {"name": "Shusha", "lat": 39.7583, "lon": 46.7486, "precision": "town"},
    "actors": ["Azerbaijan"],
    "claimant": "Armenia",
    "citations": [{"source_id": entry.SOURCE, "quote": "Pictures showed great damage"}],
    "reported_at": "2021-06-15T15:00:00Z",
}


async def _seed(database_url: str) -> str:
    """The timelines, the insert baseline's table and a write key; returns the key."""
    engine = entry.create_engine(database_url, pool_size=2)
    try:
        await fill.scale_timelines(engine)
        runner = entry.writer(engine)
        await entry.open_timeline(runner, PAGE)
        await entry.open_timeline(runner, EMPTY)
        for i in range(50):
            await entry.record_assertion(runner, entry.assertion(f"http-{i:03d}", PAGE, i))
        async with entry.begin(engine) as conn:
            await conn.execute(
                text(
                    f"CREATE TABLE {RAW_TABLE} (id bigint GENERATED ALWAYS AS IDENTITY "
                    "PRIMARY KEY, data jsonb NOT NULL, created_at timestamptz NOT NULL "
                    "DEFAULT now())"
                )
            )
        return await entry.write_key(engine)
    finally:
        await engine.dispose()


async def _assertions_in(database_url: str, slug: str) -> int:
    engine = entry.create_engine(database_url, pool_size=1)
    try:
        async with entry.connect(engine) as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM events WHERE timeline = :slug AND type = :type"),
                {"slug": slug, "type": "AssertionRecorded"},
            )
        return int(count or 0)
    finally:
        await engine.dispose()


_DONE = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
_P99 = re.compile(r"99%\s+([\d.]+)(us|ms|s)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class Load:
    """One wrk workload, summed over its slices."""

    url: str
    script: str | None = None
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0  # answers other than 2xx and 3xx
    timeouts: int = 0  # socket errors: mostly requests unanswered within wrk's 2 s
    p99s: list[float] = field(default_factory=list)

    def slice(self) -> None:
        cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
        if self.script:
            cmd += ["-s", self.script]
        out = subprocess.run(
            [*cmd, self.url], capture_output=True, text=True, timeout=SECONDS + 60
        ).stdout
        done, p99 = _DONE.search(out), _P99.search(out)
        if not done or not p99:
            raise RuntimeError(f"cannot read wrk's output:\n{out}")
        unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
        self.requests += int(done.group(1))
        self.seconds += float(done.group(2)) * unit[done.group(3)]
        self.p99s.append(float(p99.group(1)) * unit[p99.group(2)] * 1000)
        if errors := _ERRORS.search(out):
            self.errors += int(errors.group(1))
        if socket_errors := _SOCKET_ERRORS.search(out):
            self.timeouts += sum(int(n) for n in socket_errors.groups())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p99(self) -> float:
        return max(self.p99s) if self.p99s else float("nan")

    def note(self) -> str:
        problems = []
        if self.errors:
            problems.append(f"{self.errors} of {self.requests} answers not 2xx/3xx")
        if self.timeouts:
            problems.append(f"{self.timeouts} socket errors or timeouts (2 s)")
        return "; ".join(problems)

    @property
    def broken(self) -> bool:
        """More than 1% of the requests failed: the rate is not the route's."""
        return self.errors + self.timeouts > 0.01 * max(self.requests, 1)


def _script(method: str, headers: dict[str, str], body: str | None = None) -> str:
    """A wrk Lua script sending every request with `method`, `headers` and `body`."""
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = [[{body}]]")
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    return handle.name


def _etag(base: str, path: str) -> str:
    """The page's ETag, checked to give a 304 when sent back."""
    with httpx.Client(base_url=base) as client:
        etag = client.get(path).headers["etag"]
        again = client.get(path, headers={"If-None-Match": etag})
        if again.status_code != 304:
            raise RuntimeError(f"If-None-Match {etag} answered {again.status_code}, not 304")
    return etag


async def run(bench: Bench, database_url: str) -> None:
    if shutil.which("wrk") is None:
        print("  wrk is not installed (`apt-get install wrk`): HTTP benchmark skipped", flush=True)
        return
    started = time.perf_counter()
    key = await _seed(database_url)
    big_before = await _assertions_in(database_url, BIG)
    print(f"  (seeded in {time.perf_counter() - started:.0f} s)", flush=True)
    body = msgspec.json.encode(BODY).decode()
    json_type = {"Content-Type": "application/json"}
    post = _script("POST", {**json_type, "Authorization": f"Bearer {key}"}, body)
    insert = _script("POST", json_type, body)
    scripts = [post, insert]
    try:
        loads = await asyncio.to_thread(_measure, database_url, post, insert, scripts)
    finally:
        for script in scripts:
            os.unlink(script)
    hello, select, page, not_modified, raw_insert, posted, posted_big = loads

    def figure(name: str, load: Load, baseline: str, base: Load, about: str = "") -> None:
        problems = [p for p in (load.note(), base.note() and f"baseline: {base.note()}") if p]
        bench.record(
            name,
            load.rate,
            "req/s",
            baseline,
            base.rate,
            note="; ".join(problems) or about,
            broken=load.broken or base.broken,
        )

    one_select, one_insert = "one-SELECT route", "one-INSERT route"
    figure("http.get_timeline", page, one_select, select, "a page of 50 assertions")
    figure("http.get_timeline_304", not_modified, one_select, select, "If-None-Match: the ETag")
    bench.record(
        "http.get_timeline_p99", page.p99, "ms", one_select, select.p99, higher_is_better=False
    )
    figure("http.post_assertion", posted, one_insert, raw_insert, "into a new timeline")
    bench.record(
        "http.post_assertion_p99",
        posted.p99,
        "ms",
        one_insert,
        raw_insert.p99,
        higher_is_better=False,
    )
    figure(
        "http.post_assertion@100k",
        posted_big,
        "http.post_assertion",
        posted,
        f"into a timeline of {big_before} assertions",
    )
    bench.record(
        "http.hello",
        hello.rate,
        "req/s",
        one_select,
        select.rate,
        note=f"the ceiling; p99 {hello.p99:.2f} ms",
    )
    created = await _assertions_in(database_url, EMPTY)
    if created != posted.requests - posted.errors:
        print(
            f"  (check: {created} assertions in {EMPTY}, "
            f"{posted.requests - posted.errors} POSTs answered 2xx)",
            flush=True,
        )


def _measure(database_url: str, post: str, insert: str, scripts: list[str]) -> list[Load]:
    with serve.uvicorn(database_url) as base:
        page_path = f"/v1/timelines/{PAGE}?limit=50"
        etag = _etag(base, page_path)
        scripts.append(not_modified := _script("GET", {"If-None-Match": etag}))
        hello = Load(f"{base}/bench/hello")
        loads = [
            Load(f"{base}/bench/select/1"),
            Load(f"{base}{page_path}"),
            Load(f"{base}{page_path}", not_modified),
            Load(f"{base}/bench/insert", insert),
            Load(f"{base}/v1/timelines/{EMPTY}/assertions", post),
            Load(f"{base}/v1/timelines/{BIG}/assertions", post),
        ]
        hello.slice()  # warms the server up; the figure is the second slice
        hello.requests, hello.seconds, hello.p99s = 0, 0.0, []
        hello.slice()
        for _ in range(ROUNDS):
            for load in loads:
                load.slice()
    return [hello, *loads]
