"""The API through database faults: restarted, frozen, its connections cut.

One `timeline serve` process on a cluster of the test's own. Each fault is
caused under write load; during it every answer is 200/201 or a 503
problem+json with Retry-After (never a 500, never a hang); after it the same
API process serves fully again; and every acknowledged (201) write is
readable, in the paged feed exactly once, and delivered exactly once to an SSE
reader that resumes by Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.cluster import Cluster, throwaway_cluster
from tests.faults.server import (
    Server,
    Writers,
    assert_unavailable,
    assertion_body,
    feed_ids,
    open_timeline,
    serve,
    sse_ids,
    until_serving,
    write_key,
)
from timeline.migrate import migrate

# Bounds for "answers within about 2 s": generous, as this machine is shared.
ANSWER_BOUND = 5.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as cluster:
        migrate(cluster.url)
        yield cluster


@pytest.fixture(scope="module")
def auth(cluster: Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {write_key(cluster.url)}"}


@pytest.fixture(scope="module")
def api(cluster: Cluster) -> Iterator[Server]:
    with serve(cluster.url) as server:
        yield server
        server.stop()
        log = server.log
    assert "Traceback" not in log, log[-3000:]


@pytest.fixture
async def client(api: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api.base, timeout=15) as client:
        yield client


async def _start_cursor(client: httpx.AsyncClient, slug: str) -> str:
    response = await client.get("/v1/events", params={"timeline": slug})
    assert response.status_code == 200, response.text
    cursor: str = response.json()["next_cursor"]
    return cursor


async def _fully_serving(client: httpx.AsyncClient, auth: dict[str, str], slug: str) -> list[str]:
    """After a fault: writes answer 201 and reads 200, one after another, every time."""
    ids = []
    for n in range(5):
        response = await client.post(
            f"/v1/timelines/{slug}/assertions", json=assertion_body(-n), headers=auth
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        page = await client.get(f"/v1/timelines/{slug}")
        assert page.status_code == 200, page.text
        assert ids[-1] in {a["id"] for a in page.json()["assertions"]} or page.json()["next_cursor"]
    return ids


async def _nothing_lost(
    client: httpx.AsyncClient, slug: str, cursor: str, acknowledged: list[str]
) -> None:
    """Every acknowledged write: readable, once in the paged feed, once over SSE."""
    assert len(set(acknowledged)) == len(acknowledged)
    limit = asyncio.Semaphore(8)

    async def readable(assertion_id: str) -> int:
        async with limit:
            return (await client.get(f"/v1/assertions/{assertion_id}")).status_code

    statuses = await asyncio.gather(*(readable(i) for i in acknowledged))
    assert set(statuses) == {200}
    paged = Counter(await feed_ids(client, slug))
    assert all(paged[i] == 1 for i in acknowledged), [i for i in acknowledged if paged[i] != 1]
    assert all(count == 1 for count in paged.values())
    delivered = Counter(await sse_ids(client, slug, cursor, set(acknowledged), within=60))
    assert all(delivered[i] == 1 for i in acknowledged), {
        i: delivered[i] for i in acknowledged if delivered[i] != 1
    }
    assert all(count == 1 for count in delivered.values())


async def _under_load(
    client: httpx.AsyncClient, auth: dict[str, str], slug: str, fault: object
) -> Writers:
    writers = Writers()
    load = asyncio.create_task(writers.run(client, auth, slug, 4))
    await asyncio.sleep(1.0)
    assert callable(fault)
    await fault()
    await until_serving(client)
    await asyncio.sleep(1.0)
    writers.stop.set()
    await load
    assert not writers.other, writers.other[:5]
    return writers


async def test_a_restart_under_write_load_loses_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], cluster: Cluster
) -> None:
    slug = await open_timeline(client, auth)
    cursor = await _start_cursor(client, slug)

    async def restart() -> None:
        await asyncio.to_thread(cluster.restart)

    writers = await _under_load(client, auth, slug, restart)
    assert writers.acknowledged
    after = await _fully_serving(client, auth, slug)
    await _nothing_lost(client, slug, cursor, writers.acknowledged + after)


async def test_connections_cut_from_the_database_side_lose_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], cluster: Cluster
) -> None:
    slug = await open_timeline(client, auth)
    cursor = await _start_cursor(client, slug)

    async def cut() -> None:
        assert await asyncio.to_thread(cluster.terminate, "timeline%") > 0
        await asyncio.sleep(0.5)
        await asyncio.to_thread(cluster.terminate, "timeline%")

    writers = await _under_load(client, auth, slug, cut)
    after = await _fully_serving(client, auth, slug)
    await _nothing_lost(client, slug, cursor, writers.acknowledged + after)


async def test_a_frozen_database_gets_503s_in_time_and_service_resumes(
    client: httpx.AsyncClient, auth: dict[str, str], cluster: Cluster
) -> None:
    slug = await open_timeline(client, auth)
    cursor = await _start_cursor(client, slug)
    before = await _fully_serving(client, auth, slug)
    cluster.freeze()
    try:
        frozen_at = time.monotonic()
        for request in (
            client.build_request("GET", f"/v1/timelines/{slug}"),
            client.build_request(
                "POST", f"/v1/timelines/{slug}/assertions", json=assertion_body(1), headers=auth
            ),
            client.build_request("GET", "/v1/events", params={"timeline": slug}),
            client.build_request("GET", "/health"),
        ):
            start = time.monotonic()
            response = await client.send(request)
            took = time.monotonic() - start
            assert_unavailable(response)
            assert took < ANSWER_BOUND, (request.url, took)
        await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - frozen_at)))
    finally:
        cluster.thaw()
    await until_serving(client)
    after = await _fully_serving(client, auth, slug)
    await _nothing_lost(client, slug, cursor, before + after)


@pytest.mark.parametrize("fault", ["restart", "terminate"])
async def test_an_idle_pool_never_hands_out_a_connection_the_server_closed(
    client: httpx.AsyncClient, auth: dict[str, str], cluster: Cluster, fault: str
) -> None:
    """After the fault, with the API idle meanwhile, the very first requests succeed:
    connections the server closed are dropped at checkout, not failed on first use."""
    slug = await open_timeline(client, auth)
    for _ in range(3):  # warm several pooled connections
        await asyncio.gather(*(client.get(f"/v1/timelines/{slug}") for _ in range(6)))
    if fault == "restart":
        await asyncio.to_thread(cluster.restart)
    else:
        assert await asyncio.to_thread(cluster.terminate, "timeline-api%") > 0
    await asyncio.sleep(0.2)  # the closed sockets reach the API's event loop
    answers = await asyncio.gather(*(client.get(f"/v1/timelines/{slug}") for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    response = await client.post(
        f"/v1/timelines/{slug}/assertions", json=assertion_body(7), headers=auth
    )
    assert response.status_code == 201, response.text
