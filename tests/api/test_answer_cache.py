"""The per-process cache of encoded answers: served without recomputing, never stale.

Every test here would fail with a cache validated by "the newest position":
positions are handed out in one order and committed in another.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Client, make_key
from tests.api.flows import open_timeline, record, register_source
from timeline.api.answers import AnswerCache
from timeline.api.app import create_app
from timeline.config import Settings
from timeline.store.db import connect_dedicated

# Long enough that a write held back on purpose (below) is not cut by the API's timeouts.
PATIENT = Settings(db_statement_timeout=20.0, db_command_timeout=20.0)


@asynccontextmanager
async def running(settings: Settings, database_url: str) -> AsyncIterator[tuple[Litestar, Client]]:
    """The app and a test client (which runs one request at a time)."""
    app = create_app(settings, database_url)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        yield app, client


@asynccontextmanager
async def served(
    settings: Settings, database_url: str
) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    """The app behind a real server in this event loop: requests run concurrently."""
    app = create_app(settings, database_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{config.port}"
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            yield app, client
    finally:
        server.should_exit = True
        await task


def answers_of(app: Litestar) -> AnswerCache:
    cache: AnswerCache = app.state["timeline"].answers
    return cache


def ids_of(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return [a["id"] for a in page.json()["assertions"]]


# -- holding a write open between its append and its commit --------------------


@pytest.fixture(scope="module")
async def hold_trigger(engine: AsyncEngine) -> AsyncIterator[None]:
    """An event whose claimant starts with `held:` waits, inside its transaction and
    after its row has its position, for the advisory lock of its marker's hash."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION test_hold_event() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN PERFORM pg_advisory_xact_lock(hashtext(NEW.data->>'claimant')); "
                "RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER test_hold_event AFTER INSERT ON events FOR EACH ROW "
                "WHEN (NEW.data->>'claimant' LIKE 'held:%') EXECUTE FUNCTION test_hold_event()"
            )
        )
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER test_hold_event ON events"))
        await conn.execute(text("DROP FUNCTION test_hold_event()"))


@asynccontextmanager
async def held(database_url: str) -> AsyncIterator[tuple[str, Callable[[], Any]]]:
    """A claimant marker whose writes wait before committing, and a way to let them go."""
    marker = f"held:{uuid.uuid4().hex}"
    lock = await connect_dedicated(database_url, application="test-hold")
    try:
        await lock.execute("SELECT pg_advisory_lock(hashtext($1))", marker)

        async def release() -> None:
            await lock.execute("SELECT pg_advisory_unlock(hashtext($1))", marker)

        yield marker, release
    finally:
        await lock.close()


async def wait_until_blocked(database_url: str, marker: str) -> None:
    """Until a transaction waits on `marker`'s lock: its event is written, not committed."""
    probe = await connect_dedicated(database_url, application="test-probe")
    try:
        for _ in range(500):
            waiting = await probe.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND objid = (hashtext($1)::bigint & 4294967295)::oid",
                marker,
            )
            if waiting:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the held write never reached its lock")
    finally:
        await probe.close()


# -- strong consistency ---------------------------------------------------------


async def test_a_write_committing_after_a_later_position_is_seen_once_committed(
    database_url: str, engine: AsyncEngine, hold_trigger: None
) -> None:
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    async with served(PATIENT, database_url) as (app, client):
        timeline = await open_timeline(client, auth)
        source = await register_source(client, auth)
        url = f"/v1/timelines/{timeline}"
        assert ids_of(await client.get(url)) == []
        async with held(database_url) as (marker, release):
            slow = asyncio.create_task(record(client, auth, timeline, source, claimant=marker))
            await wait_until_blocked(database_url, marker)
            fast = await record(client, auth, timeline, source)
            # The cache fills here: it sees `fast`, not `slow`, whose position is smaller.
            assert ids_of(await client.get(url)) == [fast["id"]]
            fills = answers_of(app).fills
            assert ids_of(await client.get(url)) == [fast["id"]]
            assert answers_of(app).fills == fills  # served from the cache
            await release()
            late = await slow
        assert late["last_position"] < fast["last_position"]
        # Right after the 201: the answer kept above is not served.
        assert sorted(ids_of(await client.get(url))) == sorted([fast["id"], late["id"]])
        assert answers_of(app).fills == fills + 1


async def test_two_api_processes_read_each_others_writes_at_once(
    database_url: str, engine: AsyncEngine
) -> None:
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    async with serving(database_url) as a, serving(database_url) as b:
        timeline = await open_timeline(a, auth)
        source = await register_source(a, auth)
        url = f"/v1/timelines/{timeline}"
        assert ids_of(await b.get(url)) == []
        stop = asyncio.Event()

        async def keep_b_warm() -> int:
            reads = 0
            while not stop.is_set():
                assert (await b.get(url)).status_code == 200
                reads += 1
            return reads

        readers = [asyncio.create_task(keep_b_warm()) for _ in range(2)]
        try:
            written: list[str] = []
            for i in range(8):
                writer, reader = (a, b) if i % 2 == 0 else (b, a)
                response = await writer.post(
                    f"{url}/assertions",
                    json={**_assertion(source), "summary": f"report {i}"},
                    headers=auth,
                )
                assert response.status_code == 201, response.text
                written.append(response.json()["id"])
                # The other process, its cache warm from the readers, shows the write now.
                assert sorted(ids_of(await reader.get(url, params={"limit": 100}))) == sorted(
                    written
                )
                assert sorted(ids_of(await b.get(url))) == sorted(written)
                one = await b.get(f"/v1/assertions/{written[-1]}")
                assert one.status_code == 200
        finally:
            stop.set()
            reads = await asyncio.gather(*readers)
        assert sum(reads) > 0


def _assertion(source: str) -> dict[str, Any]:
    return {
        "occurred": "2020-10-08",
        "kind": "shelling",
        "summary": "Holy Savior Cathedral in Shusha shelled",
        "citations": [{"source_id": source, "quote": "Pictures showed great damage"}],
        "reported_at": "2020-10-08T15:00:00Z",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """`timeline serve` in a process of its own, and a client of it."""
    port = _free_port()
    env = {**os.environ, "TIMELINE_DATABASE_URL": database_url, "TIMELINE_LOG_LEVEL": "warning"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "timeline.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("timeline serve did not start")
            yield client
    finally:
        process.terminate()
        await process.wait()


async def test_a_withdrawn_source_shows_on_the_kept_page_that_cites_it(
    client: Client, auth: dict[str, str]
) -> None:
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    created = await record(client, auth, timeline, source)
    url = f"/v1/timelines/{timeline}"
    assert (await client.get(url)).json()["assertions"][0]["status"] == "active"
    assert (await client.get(f"/v1/sources/{source}")).json()["status"] == "active"
    update = {"title": "A new title"}
    response = await client.post(f"/v1/sources/{source}/updates", json=update, headers=auth)
    assert response.status_code == 201, response.text
    assert (await client.get(f"/v1/sources/{source}")).json()["title"] == "A new title"
    withdrawal = {"reason": "retracted by its publisher"}
    response = await client.post(f"/v1/sources/{source}/withdrawal", json=withdrawal, headers=auth)
    assert response.status_code == 201, response.text
    assert (await client.get(url)).json()["assertions"][0]["status"] == "unsupported"
    assert (await client.get(f"/v1/assertions/{created['id']}")).json()["status"] == "unsupported"
    assert (await client.get(f"/v1/sources/{source}")).json()["status"] == "withdrawn"


async def test_every_cached_read_sees_the_write_before_it(
    client: Client, auth: dict[str, str]
) -> None:
    """Each route's kept answer, then a write it shows, then the read again."""
    timeline = await open_timeline(client, auth)
    source = await register_source(client, auth)
    first = await record(client, auth, timeline, source)
    reads = [
        f"/v1/timelines/{timeline}",
        f"/v1/timelines/{timeline}/changes?since=2020-01-01&until=2030-01-01",
        f"/v1/assertions/{first['id']}",
        f"/v1/assertions/{first['id']}/history",
    ]
    before = [(await client.get(url)).content for url in reads]
    assert [(await client.get(url)).content for url in reads] == before
    stance = {"party": "Azerbaijan", "stance": "denies", "reported_at": "2020-10-09T00:00:00Z"}
    response = await client.post(f"/v1/assertions/{first['id']}/stances", json=stance, headers=auth)
    assert response.status_code == 201, response.text
    after = [(await client.get(url)).content for url in reads]
    assert [a != b for a, b in zip(after, before, strict=True)] == [True] * len(reads)


async def test_the_kept_list_of_timelines_shows_a_new_one(
    client: Client, auth: dict[str, str]
) -> None:
    listed = await client.get("/v1/timelines", params={"limit": 5})
    assert listed.status_code == 200
    # "0…" sorts before every slug the other tests open ("t-…"): on the first page.
    slug = "0-" + uuid.uuid4().hex[:10]
    body = {"slug": slug, "title": "First", "description": "", "region": "Caucasus"}
    assert (await client.post("/v1/timelines", json=body, headers=auth)).status_code == 201
    slugs = [
        t["slug"]
        for t in (await client.get("/v1/timelines", params={"limit": 5})).json()["timelines"]
    ]
    assert slug in slugs


# -- served without recomputing ---------------------------------------------------


async def test_an_unchanged_answer_is_checked_not_recomputed(
    database_url: str, engine: AsyncEngine
) -> None:
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    async with running(Settings(), database_url) as (app, client):
        timeline = await open_timeline(client, auth)
        source = await register_source(client, auth)
        await record(client, auth, timeline, source)
        cache = answers_of(app)
        url = f"/v1/timelines/{timeline}"
        first = await client.get(url, params={"kind": ["shelling", "air_strike"]})
        fills, checks = cache.fills, cache.checks
        # The same query, its repeated parameters in another order: the same answer.
        again = await client.get(url, params={"kind": ["air_strike", "shelling", "shelling"]})
        assert again.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert (cache.fills, cache.checks) == (fills, checks + 1)
        # If-None-Match: 304 from the kept ETag, after the same check, with no body.
        etag = first.headers["etag"]
        same = await client.get(url, params={"kind": "shelling"}, headers={"If-None-Match": etag})
        assert same.status_code == 304
        assert same.content == b""
        assert same.headers["etag"] == etag
        assert cache.fills == fills + 1  # a new key ("shelling" alone) computed once
        fills = cache.fills
        again_304 = await client.get(
            url, params={"kind": "shelling"}, headers={"If-None-Match": etag}
        )
        assert again_304.status_code == 304
        assert cache.fills == fills


async def test_requests_waiting_on_one_key_share_its_checks(
    database_url: str, engine: AsyncEngine
) -> None:
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    async with served(Settings(), database_url) as (app, client):
        timeline = await open_timeline(client, auth)
        source = await register_source(client, auth)
        await record(client, auth, timeline, source)
        url = f"/v1/timelines/{timeline}"
        await client.get(url)
        cache = answers_of(app)
        before = cache.checks + cache.fills
        pages = await asyncio.gather(*(client.get(url) for _ in range(40)))
        assert {p.status_code for p in pages} == {200}
        assert len({p.content for p in pages}) == 1
        assert cache.checks + cache.fills - before < 40
        # A change while many wait: every one of them after the 201 sees it.
        created = await record(client, auth, timeline, source)
        pages = await asyncio.gather(*(client.get(url) for _ in range(40)))
        assert all(created["id"] in ids_of(p) for p in pages)
        assert not cache._rounds  # nothing left behind once no request waits


async def test_a_pinned_answer_is_final_once_no_older_transaction_can_commit(
    database_url: str, engine: AsyncEngine, hold_trigger: None
) -> None:
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    async with served(PATIENT, database_url) as (app, client):
        timeline = await open_timeline(client, auth)
        source = await register_source(client, auth)
        url = f"/v1/timelines/{timeline}"
        async with held(database_url) as (marker, release):
            slow = asyncio.create_task(record(client, auth, timeline, source, claimant=marker))
            await wait_until_blocked(database_url, marker)
            await asyncio.sleep(0.3)  # past the margin (freshness.FINAL_MARGIN)
            pinned_at = datetime.now(UTC).isoformat()
            await asyncio.sleep(0.3)
            # `slow` began before pinned_at and may still commit: not final, not immutable.
            early = await client.get(url, params={"recorded_at": pinned_at})
            assert ids_of(early) == []
            assert early.headers["cache-control"] == "no-cache"
            await release()
            late = await slow
        # It did commit, with a recorded_at before pinned_at: the pinned answer changed.
        assert datetime.fromisoformat(late["recorded_at"]) < datetime.fromisoformat(pinned_at)
        changed = await client.get(url, params={"recorded_at": pinned_at})
        assert ids_of(changed) == [late["id"]]
        # A transaction open since before the pin (even one that wrote nothing yet)
        # keeps the pinned answer checked; once it ends, the kept answer is final.
        cache = answers_of(app)
        blocker = await connect_dedicated(database_url, application="test-open")
        opened = blocker.transaction()
        await opened.start()
        await asyncio.sleep(0.3)
        pinned_later = datetime.now(UTC).isoformat()
        await asyncio.sleep(0.3)
        kept = await client.get(url, params={"recorded_at": pinned_later})
        assert kept.headers["cache-control"] == "no-cache"
        fills = cache.fills
        await opened.rollback()
        await blocker.close()
        final = await client.get(url, params={"recorded_at": pinned_later})
        assert "immutable" in final.headers["cache-control"]
        assert final.content == kept.content
        assert cache.fills == fills  # checked and found unchanged, not read again
        # Final: served with no check at all, whatever is written later.
        checks = cache.checks
        await record(client, auth, timeline, source)
        again = await client.get(url, params={"recorded_at": pinned_later})
        assert again.content == final.content
        assert "immutable" in again.headers["cache-control"]
        assert (cache.checks, cache.fills) == (checks, fills)


# -- bounded ----------------------------------------------------------------------


async def test_many_distinct_queries_stay_within_the_bound(
    database_url: str, engine: AsyncEngine
) -> None:
    auth = {"Authorization": f"Bearer {await make_key(engine, 'write')}"}
    bound = 32 * 1024
    async with running(Settings(read_cache_bytes=bound), database_url) as (app, client):
        timeline = await open_timeline(client, auth)
        source = await register_source(client, auth)
        for i in range(3):
            await record(client, auth, timeline, source, summary=f"Shusha shelled, report {i}")
        cache = answers_of(app)
        url = f"/v1/timelines/{timeline}"
        sizes = []
        for i in range(150):
            response = await client.get(url, params={"q": f"shelled word{i}"})
            assert response.status_code == 200
            sizes.append(cache.size)
            assert cache.size <= bound
        assert max(sizes) > bound // 2  # it did fill up, and then evicted
        assert len(cache) < 150
        # The least recently used went first; the newest is still kept.
        fills = cache.fills
        await client.get(url, params={"q": "shelled word149"})
        assert cache.fills == fills
        await client.get(url, params={"q": "shelled word0"})
        assert cache.fills == fills + 1
        # An answer over an eighth of the bound is served but never kept.
        big = await client.get(url, params={"limit": 500})
        assert big.status_code == 200
        assert len(big.content) < bound // 8  # (3 assertions: small)
        for i in range(10):
            await record(client, auth, timeline, source, summary=f"x{i} " + "long " * 200)
        fills = cache.fills
        big = await client.get(url, params={"limit": 500})
        assert len(big.content) > bound // 8
        assert (await client.get(url, params={"limit": 500})).content == big.content
        assert cache.fills == fills + 2
        assert cache.size <= bound


# -- the guard ----------------------------------------------------------------------


async def test_a_kept_answer_never_skips_the_read_guard(
    database_url: str, engine: AsyncEngine
) -> None:
    key = await make_key(engine, "write")
    auth = {"Authorization": f"Bearer {key}"}
    settings = Settings(reads_need_key=True)
    async with running(settings, database_url) as (app, client):
        timeline = await open_timeline(client, auth)
        url = f"/v1/timelines/{timeline}"
        warm = await client.get(url, headers=auth)
        assert warm.status_code == 200
        assert len(answers_of(app)) >= 1
        anonymous = await client.get(url)
        assert anonymous.status_code == 401
        etag = {"If-None-Match": warm.headers["etag"]}
        assert (await client.get(url, headers=etag)).status_code == 401
        wrong = {"Authorization": "Bearer tl_nope_nope", **etag}
        assert (await client.get(url, headers=wrong)).status_code == 401
        assert (await client.get(url, headers={**auth, **etag})).status_code == 304
