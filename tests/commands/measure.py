"""Measure the write path: time per command, a profile of one POST, cost against the store's size.

Not a test (no timing is asserted anywhere): a tool whose figures go into docs/store.md.

    export TIMELINE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m tests.commands.measure time [N]       # per command, runner and HTTP
    .venv/bin/python -m tests.commands.measure profile [N]    # cProfile of N POST /assertions
    .venv/bin/python -m tests.commands.measure growth [BULK]  # small timeline, store empty vs BULK
    .venv/bin/python -m tests.commands.measure explain [BULK] # the plans of every write statement
    .venv/bin/python -m tests.commands.measure clients [N]    # N clients: commands vs raw INSERTs

Each run makes scratch databases of its own and drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import pstats
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pg import scratch_database, server_url
from timeline.api.app import create_app
from timeline.commands import handlers
from timeline.commands.keys import create_key
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.domain.commands import (
    OpenTimeline,
    RecordAssertion,
    RecordStance,
    RegisterSource,
    ReviseAssertion,
    WithdrawSource,
)
from timeline.domain.values import Citation, Place
from timeline.migrate import migrate
from timeline.store.db import asyncpg_dsn, create_engine, driver_of

SOURCE = "src-measure"
BODY: dict[str, Any] = {
    "occurred": "2020-10-08",
    "kind": "shelling",
    "summary": "Holy Savior Cathedral in Shusha shelled",
    "place": {"name": "Shusha", "lat": 39.7583, "lon": 46.7486, "precision": "town"},
    "actors": ["Azerbaijan"],
    "claimant": "Armenia",
    "citations": [{"source_id": SOURCE, "quote": "Pictures showed great damage"}],
    "reported_at": "2020-10-08T15:00:00Z",
}


def _record(slug: str, assertion_id: str | None = None) -> RecordAssertion:
    return RecordAssertion(
        assertion_id=assertion_id or f"a-{uuid.uuid4().hex[:12]}",
        timeline=slug,
        occurred="2020-10-08",
        kind="shelling",
        summary="Holy Savior Cathedral in Shusha shelled",
        place=Place(name="Shusha", lat=39.7583, lon=46.7486, precision="town"),
        actors=("Azerbaijan",),
        claimant="Armenia",
        citations=(Citation(source_id=SOURCE, quote="Pictures showed great damage"),),
        reported_at=datetime(2020, 10, 8, 15, tzinfo=UTC),
    )


async def _world(writer: Writer, slug: str, *, source: bool = True) -> None:
    await handlers.open_timeline(writer, OpenTimeline(slug=slug, title="Measure"))
    if source:
        await handlers.register_source(
            writer, RegisterSource(source_id=SOURCE, publisher="BBC", title="Report")
        )


# This process's CPU time per call of the last _timed run, in ms: unlike wall time it
# hardly moves with the machine's load (other sessions, the server's own CPU).
_cpu: list[float] = []


async def _timed(n: int, step: Callable[[int], Awaitable[Any]]) -> list[float]:
    """Milliseconds of each of n sequential calls (after 20 warm-up calls)."""
    for i in range(20):
        await step(-1 - i)
    samples = []
    cpu = time.process_time()
    for i in range(n):
        start = time.perf_counter()
        await step(i)
        samples.append((time.perf_counter() - start) * 1000)
    _cpu[:] = [(time.process_time() - cpu) / n * 1000]
    return samples


def _line(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9)]
    print(
        f"  {name:<34} p50 {statistics.median(samples):6.2f} ms  mean "
        f"{statistics.fmean(samples):6.2f} ms  p90 {p90:6.2f} ms  client CPU "
        f"{_cpu[0] if _cpu else float('nan'):5.2f} ms  (n={len(samples)})",
        flush=True,
    )


async def _key(engine: AsyncEngine) -> dict[str, str]:
    async with engine.begin() as conn:
        _, secret = await create_key(conn, ["write"], "measure")
    return {"Authorization": f"Bearer {secret}"}


@contextlib.asynccontextmanager
async def _client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this thread and loop, so a profile sees it; no lifespan, so no feed."""
    app = create_app(Settings(), url)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://measure.local") as c:
            yield c
    finally:
        await app.state["timeline"].engine.dispose()


async def measure_time(url: str, n: int) -> None:
    engine = create_engine(url, pool_size=4)
    writer = Writer(engine)
    await _world(writer, "runner")
    ids: list[str] = []

    async def record(i: int) -> None:
        cmd = _record("runner")
        ids.append(cmd.assertion_id)
        await handlers.record_assertion(writer, cmd)

    async def revise(i: int) -> None:
        aid = ids[i % len(ids)]
        cmd = ReviseAssertion(
            assertion_id=aid, summary=f"revised {i}", reported_at=datetime(2020, 10, 9, tzinfo=UTC)
        )
        await handlers.change_assertion(writer, cmd)

    async def stance(i: int) -> None:
        cmd = RecordStance(
            assertion_id=ids[i % len(ids)],
            party="Azerbaijan",
            stance="denies",
            reported_at=datetime(2020, 10, 9, tzinfo=UTC),
        )
        await handlers.change_assertion(writer, cmd)

    print("through the handlers (no HTTP, no feed):")
    _line("record_assertion", await _timed(n, record))
    _line("revise_assertion", await _timed(n, revise))
    _line("record_stance", await _timed(n, stance))
    auth = await _key(engine)
    await engine.dispose()

    async with _client(url) as client:
        await client.post(
            "/v1/timelines",
            json={"slug": "http", "title": "Measure", "description": "", "region": ""},
            headers=auth,
        )

        async def post(i: int) -> None:
            response = await client.post("/v1/timelines/http/assertions", json=BODY, headers=auth)
            assert response.status_code == 201, response.text

        print("through the app in process (httpx ASGI transport, same loop, no feed):")
        _line("POST /v1/timelines/{slug}/assertions", await _timed(n, post))


# Where a profiled function's time is counted, by the file it lives in (first match wins).
COMPONENTS = (
    ("select.epoll", "waiting for PostgreSQL (event loop idle in epoll)"),
    ("'send' of '_socket.socket'", "socket send (loopback: the kernel's delivery)"),
    ("greenlet", "SQLAlchemy (pool, connection, Core)"),
    ("asyncpg", "asyncpg (driver: encode, decode, protocol)"),
    ("sqlalchemy", "SQLAlchemy (pool, connection, Core)"),
    ("timeline/api", "timeline.api (handler, body, headers)"),
    ("timeline/commands", "timeline.commands (runner, load, fold)"),
    ("timeline/projections", "timeline.projections (rows, views)"),
    ("timeline/domain", "timeline.domain (decide, evolve)"),
    ("timeline/store", "timeline.store (codec, append, db)"),
    ("msgspec", "msgspec (encode, decode, convert)"),
    ("litestar", "Litestar (routing, DI, parsing, response)"),
    ("httpx", "test client (httpx, ASGI transport)"),
    ("asyncio", "asyncio (event loop, tasks)"),
)


def _component(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for needle, label in COMPONENTS:
        if needle in where:
            return label
    return "other (stdlib, builtins)"


async def measure_profile(url: str, n: int) -> None:
    engine = create_engine(url, pool_size=2)
    writer = Writer(engine)
    await handlers.register_source(
        writer, RegisterSource(source_id=SOURCE, publisher="BBC", title="Report")
    )
    auth = await _key(engine)
    await engine.dispose()
    async with _client(url) as client:
        await client.post(
            "/v1/timelines",
            json={"slug": "prof", "title": "Measure", "description": "", "region": ""},
            headers=auth,
        )

        async def post(i: int) -> None:
            response = await client.post("/v1/timelines/prof/assertions", json=BODY, headers=auth)
            assert response.status_code == 201, response.text

        plain = await _timed(n, post)
        plain_cpu = _cpu[0] * 1000
        # CPU time, not wall time: on a shared machine a function's wall time is
        # mostly waiting for a core; this counts what it costs. Waiting for the
        # server is then the wall time less the CPU.
        profile = cProfile.Profile(time.process_time)
        start = time.perf_counter()
        profile.enable()
        for i in range(n):
            await post(i)
        profile.disable()
        profiled = (time.perf_counter() - start) / n * 1e6
    stats = pstats.Stats(profile)
    by_component: dict[str, float] = defaultdict(float)
    for (filename, _line_no, name), row in stats.stats.items():  # type: ignore[attr-defined]
        by_component[_component(filename, name)] += row[2]  # tottime
    total = sum(by_component.values())
    print(
        f"POST /v1/timelines/prof/assertions x{n}, unprofiled: "
        f"{statistics.median(plain) * 1000:.0f} µs p50 wall, {plain_cpu:.0f} µs client CPU a call"
    )
    print(f"under cProfile: {profiled:.0f} µs wall per call; CPU per call by component:")
    for label, seconds in sorted(by_component.items(), key=lambda kv: -kv[1]):
        share = seconds / total
        print(f"  {label:<52} {seconds / n * 1e6:7.0f} µs  {share:6.1%}")
    print("\ntop 25 functions by own time:")
    stats.sort_stats("tottime").print_stats(25)


_STATE = (
    "timeline, occurred_start, occurred_end, kind, status, actors, place_name, claimant, "
    "cited_sources, search_text, state, last_position, recorded_at, view"
)
_STATE_CLONED = (
    "x.timeline, x.occurred_start + (i % 300), x.occurred_end + (i % 300), x.kind, x.status, "
    "x.actors, x.place_name, x.claimant, x.cited_sources, x.search_text, x.state, "
    "x.last_position + i, x.recorded_at, x.view"
)
_REVISION = (
    "version, recorded_from, recorded_to, known_from, known_to, known_cut_at, position, "
    "event_type, schema_version, event_data, reported_at, event_recorded_at, changes, reason, "
    "citations"
)
BULK_SQL = (
    # Clone one assertion written by the write path: its event, current row and revision.
    "INSERT INTO events (stream_type, stream_id, version, type, schema_version, data, metadata, "
    "timeline, reported_at) SELECT e.stream_type, 'bulk-' || i, e.version, e.type, "
    "e.schema_version, jsonb_set(e.data, '{assertion_id}', to_jsonb('bulk-' || i)), e.metadata, "
    "e.timeline, e.reported_at FROM events e, generate_series(1, :n) i "
    "WHERE e.stream_type = 'assertion' AND e.stream_id = :template",
    f"INSERT INTO projections.assertions (assertion_id, {_STATE}) SELECT 'bulk-' || i, "
    f"{_STATE_CLONED} FROM projections.assertions x, generate_series(1, :n) i "
    "WHERE x.assertion_id = :template",
    f"INSERT INTO projections.revisions (assertion_id, {_REVISION}, {_STATE}) "
    f"SELECT 'bulk-' || i, {', '.join('x.' + c for c in _REVISION.split(', '))}, "
    f"{_STATE_CLONED} FROM projections.revisions x, generate_series(1, :n) i "
    "WHERE x.assertion_id = :template",
)


async def _seed_bulk(engine: AsyncEngine, writer: Writer, bulk: int) -> None:
    """`bulk` assertions in timeline `bulk`, citing the source: one written, the rest cloned."""
    await handlers.open_timeline(writer, OpenTimeline(slug="bulk", title="Bulk"))
    template = _record("bulk")
    await handlers.record_assertion(writer, template)
    async with engine.begin() as conn:
        for sql in BULK_SQL:
            await conn.execute(text(sql), {"n": bulk - 1, "template": template.assertion_id})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("events", "projections.assertions", "projections.revisions"):
            await conn.execute(text(f"VACUUM ANALYZE {table}"))


def _server_cpu(pid: int) -> float:
    """Seconds of CPU the server process `pid` has used (it runs on this machine)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)


async def measure_growth(empty_url: str, big_url: str, bulk: int, n: int) -> None:
    # One connection each, so the server's CPU per command is that backend's.
    engines = {"empty": create_engine(empty_url, pool_size=1)}
    engines["big"] = create_engine(big_url, pool_size=1)
    writers = {name: Writer(engine) for name, engine in engines.items()}
    for writer in writers.values():
        await _world(writer, "small")
    started = time.perf_counter()
    await _seed_bulk(engines["big"], writers["big"], bulk)
    print(f"seeded {bulk} assertions in {time.perf_counter() - started:.1f} s", flush=True)
    pids = {name: await _backend_pid(engine) for name, engine in engines.items()}
    samples: dict[str, list[float]] = defaultdict(list)
    server: dict[str, float] = defaultdict(float)
    cases = {
        "small timeline, empty store": ("empty", "small"),
        f"small timeline, {bulk} in another": ("big", "small"),
        f"into the {bulk}-assertion timeline": ("big", "bulk"),
    }
    # Turns, so that every case sees the same machine load.
    for _ in range(4):
        for case, (store, slug) in cases.items():

            async def step(i: int, writer: Writer = writers[store], slug: str = slug) -> None:
                await handlers.record_assertion(writer, _record(slug))

            before = _server_cpu(pids[store])
            samples[case] += await _timed(n // 4, step)
            server[case] += _server_cpu(pids[store]) - before
    print(f"sequential record_assertion (runner, no feed), {n} each:")
    for case, values in samples.items():
        _line(case, values)
        print(f"  {'':<34} server CPU {server[case] / (len(values) + 80) * 1000:5.2f} ms a command")
    empty, big = (statistics.median(samples[c]) for c in list(cases)[:2])
    print(f"  p50 ratio big/empty: {big / empty:.2f}")
    for engine in engines.values():
        await engine.dispose()


async def measure_explain(url: str, bulk: int) -> None:
    """Every statement the write path runs, nested ones included, with its plan (auto_explain)."""
    engine = create_engine(url, pool_size=1)  # one connection: the settings below stay on it
    writer = Writer(engine)
    await _world(writer, "small")
    await _seed_bulk(engine, writer, bulk)
    withdrawn = "src-withdrawn"
    await handlers.register_source(
        writer, RegisterSource(source_id=withdrawn, publisher="AP", title="Wire")
    )
    notices: list[str] = []
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for sql in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_nested_statements = on",
            "SET auto_explain.log_analyze = on",
            "SET auto_explain.log_timing = off",
            "SET auto_explain.log_level = notice",
        ):
            await conn.execute(text(sql))
        driver = await driver_of(conn)
        driver.add_log_listener(lambda _conn, message: notices.append(message.message))
    cited = (Citation(source_id=SOURCE), Citation(source_id=withdrawn))
    commands: dict[str, Callable[[], Awaitable[Any]]] = {
        "record_assertion": lambda: handlers.record_assertion(
            writer, msgspec.structs.replace(_record("small", "a-explained"), citations=cited)
        ),
        "revise_assertion": lambda: handlers.change_assertion(
            writer,
            ReviseAssertion(
                assertion_id="a-explained",
                summary="revised",
                reported_at=datetime(2020, 10, 9, tzinfo=UTC),
            ),
            expected_version=1,
        ),
        "withdraw_source": lambda: handlers.withdraw_source(
            writer,
            WithdrawSource(
                source_id=withdrawn, reason="gone", withdrawn_at=datetime(2020, 10, 10, tzinfo=UTC)
            ),
        ),
    }
    for name, command in commands.items():
        notices.clear()
        await command()
        await asyncio.sleep(0.1)
        print(f"\n=== {name} (store: {bulk} assertions in another timeline)")
        for message in notices:
            print(message.split("plan:", 1)[-1].rstrip())
    await engine.dispose()


async def measure_clients(url: str, clients: int) -> None:
    """Commands/s from `clients` concurrent writers, beside raw INSERTs, in interleaved turns.

    The baseline is tests.bench.bench_store's: one autocommit INSERT a row, on raw asyncpg.
    """
    from tests.bench.bench_store import DATA, RAW_INSERT, RAW_TABLE, interleaved

    engine = create_engine(url, pool_size=clients)
    writer = Writer(engine)
    await _world(writer, "clients")
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=clients, max_size=clients)
    assert pool is not None
    await pool.execute(RAW_TABLE)

    async def raw(c: int, i: int) -> int:
        await pool.execute(RAW_INSERT, f"raw-{c}", i + 1, DATA)
        return 1

    async def record(c: int, i: int) -> int:
        await handlers.record_assertion(writer, _record("clients"))
        return 1

    async def stance(c: int, i: int) -> int:
        # A command on an existing assertion: its load reads live revision rows too.
        await handlers.change_assertion(
            writer,
            RecordStance(
                assertion_id=f"a-stanced-{c}-{i % 50}",
                party="Azerbaijan",
                stance="denies",
                reported_at=datetime(2020, 10, 9, tzinfo=UTC),
            ),
        )
        return 1

    for c in range(clients):
        for i in range(50):
            await handlers.record_assertion(writer, _record("clients", f"a-stanced-{c}-{i}"))
    try:
        raw_rate, record_rate, stance_rate = await interleaved(clients, raw, record, stance)
    finally:
        await pool.close()
        await engine.dispose()
    print(f"{clients} clients, interleaved turns (tests.bench.bench_store.interleaved):")
    print(f"  raw INSERT             {raw_rate:8.1f} rows/s")
    for name, value in (("record_assertion", record_rate), ("record_stance", stance_rate)):
        print(f"  {name:<22} {value:8.1f} commands/s  ratio {value / raw_rate:.2f}")


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "time"
    arg = int(argv[1]) if len(argv) > 1 else None
    with server_url() as server:
        if what == "growth":
            with scratch_database(server) as empty, scratch_database(server) as big:
                migrate(empty)
                migrate(big)
                asyncio.run(measure_growth(empty, big, arg or 100_000, 400))
            return 0
        with scratch_database(server) as url:
            migrate(url)
            if what == "time":
                asyncio.run(measure_time(url, arg or 300))
            elif what == "profile":
                asyncio.run(measure_profile(url, arg or 500))
            elif what == "clients":
                asyncio.run(measure_clients(url, arg or 8))
            elif what == "explain":
                asyncio.run(measure_explain(url, arg or 100_000))
            else:
                print(__doc__, file=sys.stderr)
                return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TIMELINE_LOG_LEVEL", "warning")
    sys.exit(main(sys.argv[1:]))
