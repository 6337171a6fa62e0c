"""GET /metrics: Prometheus text that prometheus-client's own parser reads, whose figures
move with what the process does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.api.conftest import Client, make_key
from tests.api.flows import open_timeline, register_source, slug
from tests.cluster import Cluster, throwaway_cluster
from tests.faults.server import serve
from timeline.api.app import create_app
from timeline.api.figures import pool_figures, waiting_for
from timeline.commands.handlers import open_timeline as open_timeline_command
from timeline.commands.writer import Writer
from timeline.config import Settings
from timeline.domain.commands import OpenTimeline
from timeline.migrate import migrate
from timeline.store.db import Timeouts, create_engine

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample by (name, labels), as prometheus-client's parser reads the text."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly these labels (the app's name aside); 0 when absent."""
    wanted = frozenset({**labels, "app_name": "timeline"}.items())
    plain = frozenset(labels.items())
    return samples.get((name, wanted), samples.get((name, plain), 0.0))


async def scrape(client: Client | httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


ROUTE = "/v1/timelines/{slug}"


async def test_requests_are_counted_and_timed_by_route_template_and_status(
    client: Client, auth: dict[str, str]
) -> None:
    name = await open_timeline(client, auth)
    before = await scrape(client)
    for _ in range(2):
        assert (await client.get(f"/v1/timelines/{name}")).status_code == 200
    assert (await client.get(f"/v1/timelines/{slug()}")).status_code == 404
    after = await scrape(client)

    def moved(metric: str, status: str) -> float:
        labels = {"method": "GET", "path": ROUTE, "status_code": status}
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert moved("timeline_requests_total", "200") == 2
    assert moved("timeline_requests_total", "404") == 1
    assert moved("timeline_request_duration_seconds_count", "200") == 2
    assert moved("timeline_request_duration_seconds_sum", "200") > 0
    inf = {"method": "GET", "path": ROUTE, "status_code": "200", "le": "+Inf"}
    assert value(after, "timeline_request_duration_seconds_bucket", **inf) == value(
        after, "timeline_request_duration_seconds_count", **{k: inf[k] for k in list(inf)[:3]}
    )
    paths = {dict(labels).get("path") for (_, labels) in after}
    # The route's template is the label, never the raw path (one series per route), and
    # /metrics is left out of its own counts.
    assert ROUTE in paths
    assert f"/v1/timelines/{name}" not in paths
    assert "/metrics" not in paths


async def test_writes_are_timed_by_outcome(client: Client, auth: dict[str, str]) -> None:
    before = await scrape(client)
    name = await open_timeline(client, auth)
    again = {"slug": name, "title": "again", "description": "", "region": ""}
    assert (await client.post("/v1/timelines", json=again, headers=auth)).status_code == 409
    after = await scrape(client)
    count = "timeline_append_seconds_count"
    assert value(after, count, outcome="written") - value(before, count, outcome="written") == 1
    assert value(after, count, outcome="refused") - value(before, count, outcome="refused") == 1
    seconds = value(after, "timeline_append_seconds_sum", outcome="written") - value(
        before, "timeline_append_seconds_sum", outcome="written"
    )
    assert 0 < seconds < 10


async def test_the_answer_cache_figures_move_with_reads(
    client: Client, auth: dict[str, str]
) -> None:
    source = await register_source(client, auth)
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"/v1/sources/{source}")).status_code == 200
    after = await scrape(client)
    fills = value(after, "timeline_answer_cache_fills_total") - value(
        before, "timeline_answer_cache_fills_total"
    )
    checks = value(after, "timeline_answer_cache_checks_total") - value(
        before, "timeline_answer_cache_checks_total"
    )
    assert (fills, checks) == (1, 2)  # computed once, then checked and served kept
    assert value(after, "timeline_answer_cache_entries") >= 1
    assert (
        0
        < value(after, "timeline_answer_cache_bytes")
        <= value(after, "timeline_answer_cache_max_bytes")
    )


async def test_the_feed_lag_counts_committed_events_the_hub_has_not_read(
    client: Client, engine: AsyncEngine
) -> None:
    settled = await _settled(client)
    # A write by another process: nothing wakes this one's hub (its idle poll is 5 s).
    elsewhere = Writer(engine)
    for _ in range(2):
        await open_timeline_command(elsewhere, OpenTimeline(slug=slug(), title="elsewhere"))
    seen = await scrape(client)
    assert value(seen, "timeline_feed_lag_events") == 2
    assert value(seen, "timeline_feed_newest_position") > value(
        seen, "timeline_feed_delivered_position"
    )
    assert value(seen, "timeline_feed_newest_position") > value(
        settled, "timeline_feed_newest_position"
    )


async def _settled(client: Client) -> Samples:
    """A scrape once the hub has read everything committed (a write here wakes it)."""
    for _ in range(100):
        samples = await scrape(client)
        if value(samples, "timeline_feed_lag_events") == 0:
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError("the hub never caught up")


async def test_open_streams_are_counted(database_url: str) -> None:
    with serve(database_url) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            assert value(await scrape(http), "timeline_feed_streams") == 0
            async with contextlib.AsyncExitStack() as streams:
                readers = []  # held: a line iterator collected closes its stream
                for _ in range(2):
                    stream = await streams.enter_async_context(
                        http.stream("GET", "/v1/events/stream")
                    )
                    readers.append(stream.aiter_lines())
                    await anext(readers[-1])  # it runs, so it counts
                samples = await scrape(http)
                assert value(samples, "timeline_feed_streams") == 2
                assert value(samples, "timeline_feed_subscribers") == 2


async def test_waiting_for_counts_the_requests_waiting_on_an_exhausted_pool(
    database_url: str,
) -> None:
    patient = Timeouts(statement=5, command=5, acquire=5, connect=5)
    engine = create_engine(database_url, pool_size=1, timeouts=patient)
    pool = engine.sync_engine.pool
    try:
        async with contextlib.AsyncExitStack() as held:
            for _ in range(2):  # the pool and its overflow: every connection it may open
                conn: AsyncConnection = await held.enter_async_context(engine.connect())
                await conn.exec_driver_sql("SELECT 1")
            waiter = asyncio.ensure_future(_one_query(engine))
            for _ in range(200):
                if waiting_for(pool) == 1:
                    break
                await asyncio.sleep(0.01)
            assert waiting_for(pool) == 1
        await waiter  # served once a connection came back
        assert waiting_for(pool) == 0
    finally:
        await engine.dispose()


async def _one_query(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SELECT 1")


async def test_the_pool_figures_count_connections_in_use_and_idle(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=3)
    pool = engine.sync_engine.pool

    def figures() -> dict[str, float]:
        return {m.name: m.samples[0].value for m in pool_figures(pool)}

    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            busy = figures()
        idle = figures()
    finally:
        await engine.dispose()
    assert busy["timeline_pool_connections_in_use"] == 1
    assert idle["timeline_pool_connections_in_use"] == 0
    assert idle["timeline_pool_connections_idle"] == 1
    assert busy["timeline_pool_size"] == 3
    assert busy["timeline_pool_waiting"] == 0


async def test_with_reads_needing_a_key_metrics_need_one(
    database_url: str, engine: AsyncEngine
) -> None:
    key = await make_key(engine, "read")
    app = create_app(Settings(reads_need_key=True), database_url)
    async with AsyncTestClient(app) as closed:
        assert (await closed.get("/metrics")).status_code == 401
        answer = await closed.get("/metrics", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200
        assert value(parse(answer.text), "timeline_pool_size") == Settings().pool_size


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as started:
        migrate(started.url)
        yield started


async def test_with_the_database_stopped_metrics_still_answer_without_the_lag(
    cluster: Cluster,
) -> None:
    app = create_app(Settings(), cluster.url)
    async with AsyncTestClient(app) as client:
        up = await scrape(client)
        assert ("timeline_feed_lag_events", frozenset()) in up
        cluster.stop("immediate")
        down = await scrape(client)
        cluster.start()
        cluster.wait_ready()
    assert ("timeline_feed_lag_events", frozenset()) not in down
    assert ("timeline_feed_newest_position", frozenset()) not in down
    assert ("timeline_pool_size", frozenset()) in down
    assert ("timeline_feed_streams", frozenset()) in down


async def test_the_log_and_each_relay_are_in_the_figures(
    client: Client, auth: dict[str, str], engine: AsyncEngine
) -> None:
    """The log's tree and signed size, as the database holds them, and a relay's saved
    checkpoint by its name (what `timeline relay status` reads)."""
    await open_timeline(client, auth)
    relay = f"metrics-{slug()}"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO relay_checkpoints (name, cursor, tx_id, position, published) "
                "VALUES (:name, 'c', 1, 7, 3)"
            ),
            {"name": relay},
        )
    try:
        samples = await scrape(client)
        async with engine.connect() as conn:
            leaves = (await conn.execute(text("SELECT count(*) FROM log_leaves"))).scalar_one()
            signed = (
                await conn.execute(text("SELECT coalesce(max(tree_size), 0) FROM log_checkpoints"))
            ).scalar_one()
        assert ("timeline_log_tree_size", frozenset()) in samples
        assert value(samples, "timeline_log_tree_size") == leaves
        assert value(samples, "timeline_log_signed_size") == signed
        assert value(samples, "timeline_relay_checkpoint_position", relay=relay) == 7
        assert value(samples, "timeline_relay_published_total", relay=relay) == 3
        assert value(samples, "timeline_relay_checkpoint_age_seconds", relay=relay) >= 0
        assert ("timeline_relay_checkpoint_age_seconds", frozenset({("relay", relay)})) in samples
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM relay_checkpoints WHERE name = :name"), {"name": relay}
            )
