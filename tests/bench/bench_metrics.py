"""metrics.scrape: p50 of GET /metrics beside GET /health, on the API served by uvicorn.

What a Prometheus scrape costs the process: the request figures of every route asked
for so far, the app's own figures, and the two statements of the feed's lag, against
the cheapest route there is (one SELECT 1). Before measuring, every read route is asked
for once, so the scrape carries the series a live process has.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.bench.harness import Bench, median
from tests.bench.serve import uvicorn

SAMPLES = 200
WARM = 20
ROUTES = ("/v1/timelines", "/v1/timelines/nope", "/v1/events", "/v1/sources/nope", "/health")


def _p50(client: httpx.Client, path: str) -> float:
    times = []
    for i in range(SAMPLES + WARM):
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        if i >= WARM:
            times.append((time.perf_counter() - start) * 1000)
    return median(times)


def _measure(database_url: str) -> tuple[float, float, int, int]:
    """(scrape p50, health p50, series, bytes), sample by sample on one connection."""
    with uvicorn(database_url) as base, httpx.Client(base_url=base, timeout=10) as client:
        for path in ROUTES:
            client.get(path)
        text = client.get("/metrics").text
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        health = _p50(client, "/health")
        scrape = _p50(client, "/metrics")
    return scrape, health, series, len(text)


async def run(bench: Bench, database_url: str) -> None:
    # A blocking client, in a thread: the server is a process of its own.
    scrape, health, series, size = await asyncio.to_thread(_measure, database_url)
    bench.record(
        "metrics.scrape",
        scrape,
        "ms p50",
        "GET /health",
        health,
        higher_is_better=False,
        note=f"{series} series, {size // 1024} KiB",
    )
