"""Reads on a real streaming standby keep the feed's and the answers' promises.

A primary of the tests' own and a standby made from it by `pg_basebackup -R`
(tests/replica/standby.py), one pair for this module.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import make_key
from tests.api.flows import open_timeline, register_source
from tests.relay.conftest import Writers, feed_cursors
from tests.replica.standby import Standby, primary_and_standby
from tests.store.streams import fresh_stream, opened, retitled
from timeline.api.app import create_app
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.demo.load import load_demo
from timeline.migrate import migrate
from timeline.projections.freshness import Scope, changed_since, final_snapshot, snapshot
from timeline.store.append import append_to_stream
from timeline.store.db import create_engine
from timeline.store.feed import read_feed_rows, store_id

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[str, Standby]]:
    with primary_and_standby() as (primary, standby):
        migrate(primary.url)
        standby.wait_replayed()
        yield primary.url, standby


@pytest.fixture(scope="module")
async def primary(pair: tuple[str, Standby]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pair[0], pool_size=10)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def replica(pair: tuple[str, Standby]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pair[1].url, pool_size=4)
    yield engine
    await engine.dispose()


async def test_the_standby_feed_holds_back_an_event_behind_a_transaction_open_on_the_primary(
    pair: tuple[str, Standby], primary: AsyncEngine, replica: AsyncEngine
) -> None:
    # On a standby pg_current_snapshot() lists no running transaction, so a horizon
    # read from its xip would serve the later commit and skip the earlier one for good.
    standby = pair[1]
    held, later = fresh_stream(), fresh_stream()
    async with primary.connect() as open_one:
        await append_to_stream(open_one, held, 0, [opened(held)])
        async with primary.begin() as conn:
            await append_to_stream(conn, later, 0, [opened(later)])
        await asyncio.to_thread(standby.wait_replayed)
        async with replica.connect() as conn:
            store = await store_id(conn)
            served = {r["stream_id"] for r in (await read_feed_rows(conn, store)).rows}
        assert later.id not in served, "the standby served an event past an open transaction"
        await open_one.commit()
    await asyncio.to_thread(standby.wait_replayed)
    assert await feed_cursors(replica) == await feed_cursors(primary)


async def test_an_answer_checked_on_the_standby_sees_a_write_that_was_open_when_it_was_read(
    pair: tuple[str, Standby], primary: AsyncEngine, replica: AsyncEngine
) -> None:
    # The answer cache's snapshot, taken on the standby, must not claim to have seen
    # a transaction that was still running on the primary.
    standby = pair[1]
    stream, later = fresh_stream(), fresh_stream()
    async with primary.connect() as open_one:
        await append_to_stream(open_one, stream, 0, [opened(stream)], timeline="on-standby")
        async with primary.begin() as conn:  # a later transaction ends first
            await append_to_stream(conn, later, 0, [opened(later)])
        await asyncio.to_thread(standby.wait_replayed)
        async with replica.connect() as conn:
            since = await snapshot(conn)
        await open_one.commit()
    await asyncio.to_thread(standby.wait_replayed)
    async with replica.connect() as conn:
        changed, _ = await changed_since(conn, Scope.of_timeline("on-standby"), since)
    assert changed


async def test_an_answer_pinned_on_the_standby_is_never_final_while_the_primary_may_commit(
    pair: tuple[str, Standby], primary: AsyncEngine, replica: AsyncEngine
) -> None:
    # The standby cannot see the primary's open transactions in pg_stat_activity, so
    # it cannot know that no transaction that started before R can still commit.
    stream = fresh_stream()
    async with primary.connect() as open_one:
        await append_to_stream(open_one, stream, 0, [opened(stream)])
        pinned = datetime.now(UTC)  # after the open transaction started
        await asyncio.sleep(0.4)  # past the finality margin
        await asyncio.to_thread(pair[1].wait_replayed)
        async with replica.connect() as conn:
            _, final = await final_snapshot(conn, pinned)
        async with primary.connect() as conn:
            _, final_on_primary = await final_snapshot(conn, pinned)
        await open_one.commit()
    assert not final_on_primary
    assert not final


async def test_under_eight_writers_the_feed_read_through_the_standby_equals_the_primarys(
    pair: tuple[str, Standby], primary: AsyncEngine, replica: AsyncEngine
) -> None:
    standby = pair[1]
    rng = random.Random(8)
    writers = Writers(primary, 8, seed=8, pause=0.002)
    # Holds transactions open on the primary while the others commit past them.
    stopping = asyncio.Event()
    caught_up = asyncio.Event()  # set once the standby has replayed every write

    async def slow_writer() -> None:
        while not stopping.is_set():
            stream = fresh_stream()
            async with primary.connect() as conn:
                await append_to_stream(conn, stream, 0, [opened(stream), retitled(stream, "s")])
                await asyncio.sleep(rng.uniform(0.01, 0.1))
                await conn.commit()

    async def read_all(alternate: bool) -> list[str]:
        """Read pages until the writers are done and the standby has caught up."""
        seen: list[str] = []
        after = None
        pages = 0
        async with replica.connect() as on_standby, primary.connect() as on_primary:
            store = await store_id(on_standby)
            while True:
                done = caught_up.is_set()
                conn = on_primary if alternate and pages % 2 else on_standby
                page = await read_feed_rows(conn, store, after, 37)
                await conn.commit()
                pages += 1
                seen += page.cursors
                after = page.next_cursor
                if page.at_horizon:
                    if done:
                        return seen
                    await asyncio.sleep(0.01)

    slow = asyncio.create_task(slow_writer())
    readers = [asyncio.create_task(read_all(False)), asyncio.create_task(read_all(True))]
    await asyncio.sleep(3.0)
    await writers.stop()
    stopping.set()
    await slow
    assert writers.appended > 300, "the writers barely wrote"
    await asyncio.to_thread(standby.wait_replayed)
    caught_up.set()  # each reader's next pass, from here, reads to the end
    expected = await feed_cursors(primary)
    standby_only, mixed = await asyncio.gather(*readers)
    assert len(set(standby_only)) == len(standby_only), "the standby's feed repeated an event"
    assert standby_only == expected
    assert mixed == expected


@pytest.fixture(scope="module")
async def clients(
    pair: tuple[str, Standby], primary: AsyncEngine
) -> AsyncIterator[tuple[Client, Client, dict[str, str]]]:
    """A client of an app reading from the standby, one of an app on the primary alone."""
    url, standby = pair
    on_standby = create_app(Settings(read_database_url=standby.url, read_wait_seconds=5.0), url)
    on_primary = create_app(Settings(), url)
    auth = {"Authorization": f"Bearer {await make_key(primary, 'write')}"}
    async with (
        AsyncTestClient(on_standby, base_url="http://replica.local") as replica_client,
        AsyncTestClient(on_primary, base_url="http://primary.local") as primary_client,
    ):
        yield replica_client, primary_client, auth


async def test_a_known_at_read_through_the_standby_equals_the_primarys_once_replayed(
    pair: tuple[str, Standby], primary: AsyncEngine, clients: tuple[Client, Client, dict[str, str]]
) -> None:
    replica_client, primary_client, _ = clients
    await load_demo(Writer(primary))
    await asyncio.to_thread(pair[1].wait_replayed)
    for query in ("known_at=2020-10-10", "known_at=2020-10-01", "as_of=2020-10-20", ""):
        path = f"/v1/timelines/nagorno-karabakh-2020?{query}"
        on_replica, on_primary = await replica_client.get(path), await primary_client.get(path)
        assert on_replica.status_code == on_primary.status_code == 200, on_replica.text
        assert on_replica.json() == on_primary.json()
        assert on_replica.headers["etag"] == on_primary.headers["etag"]


async def test_min_position_reads_a_write_on_the_standby_once_it_is_replayed(
    pair: tuple[str, Standby], clients: tuple[Client, Client, dict[str, str]]
) -> None:
    standby = pair[1]
    client, _, auth = clients
    source = await register_source(client, auth)
    await asyncio.to_thread(standby.wait_replayed)
    # The test client blocks this loop while it serves: replay is resumed from a thread.
    resume = threading.Timer(0.3, _resume, (standby,))
    _pause(standby)
    try:
        timeline = await open_timeline(client, auth)
        written = await client.post(
            f"/v1/timelines/{timeline}/assertions",
            json=_assertion(source),
            headers=auth,
        )
        assert written.status_code == 201, written.text
        position = written.headers["timeline-position"]
        assert int(position) == written.json()["last_position"]
        # Without min_position the paused standby answers what it has: not the write.
        assert (await client.get(f"/v1/timelines/{timeline}")).status_code == 404
        started = time.monotonic()
        resume.start()
        answer = await client.get(f"/v1/timelines/{timeline}?min_position={position}")
        elapsed = time.monotonic() - started
    finally:
        resume.cancel()
        _resume(standby)
    assert answer.status_code == 200, answer.text
    assert [a["summary"] for a in answer.json()["assertions"]] == ["Read your own write"]
    assert 0.3 <= elapsed < 5.0, "the standby never answered; the primary did"
    # The same, asked in the header.
    by_header = await client.get(
        f"/v1/timelines/{timeline}", headers={"Timeline-Min-Position": position}
    )
    assert by_header.status_code == 200


async def test_min_position_falls_back_to_the_primary_when_the_standby_lags_past_the_wait(
    pair: tuple[str, Standby], primary: AsyncEngine
) -> None:
    url, standby = pair
    app = create_app(Settings(read_database_url=standby.url, read_wait_seconds=0.3), url)
    auth = {"Authorization": f"Bearer {await make_key(primary, 'write')}"}
    slug = f"t-fallback-{random.randrange(1 << 30)}"
    body = {"slug": slug, "title": "T", "description": "", "region": ""}
    async with AsyncTestClient(app, base_url="http://replica.local") as client:
        await asyncio.to_thread(standby.wait_replayed)
        _pause(standby)
        try:
            written = await client.post("/v1/timelines", json=body, headers=auth)
            assert written.status_code == 201, written.text
            assert (await client.get(f"/v1/timelines/{slug}")).status_code == 404
            started = time.monotonic()
            position = written.headers["timeline-position"]
            answer = await client.get(f"/v1/timelines/{slug}?min_position={position}")
            waited = time.monotonic() - started
        finally:
            _resume(standby)
    assert answer.status_code == 200, answer.text  # from the primary
    assert answer.json()["slug"] == slug
    assert waited >= 0.3


async def test_a_bad_min_position_is_a_400_naming_it(
    clients: tuple[Client, Client, dict[str, str]],
) -> None:
    client = clients[0]
    for bad in ("-1", "0", "abc", "1.5"):
        response = await client.get(f"/v1/timelines?min_position={bad}")
        assert response.status_code == 400, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["min_position"]


def _assertion(source: str) -> dict[str, object]:
    return {
        "occurred": "2020-10-08",
        "kind": "shelling",
        "summary": "Read your own write",
        "place": {"name": "Shusha", "lat": None, "lon": None, "precision": "town"},
        "actors": ["Azerbaijan"],
        "quantities": [],
        "claimant": "Armenia",
        "citations": [{"source_id": source, "quote": "q"}],
        "reported_at": "2020-10-08T15:00:00Z",
    }


def _pause(standby: Standby) -> None:
    with psycopg.connect(standby.url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")


def _resume(standby: Standby) -> None:
    with psycopg.connect(standby.url, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
