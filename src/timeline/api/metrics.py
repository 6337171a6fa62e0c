"""GET /metrics: this process's figures in the Prometheus text format.

Two sources, one answer:

- **Requests**, by Litestar's Prometheus middleware (`prometheus-client`'s
  process-wide registry): `timeline_requests_total` and the
  `timeline_request_duration_seconds` histogram by method, route template
  (`/v1/timelines/{slug}`, never the raw path, so the series stay few) and
  status, plus requests in progress (an open SSE stream is one) and the
  process's CPU, memory and file descriptors.
- **This app's own figures**, in a registry of its own (several apps may live
  in one process, as in the tests): how long each write took
  (`timeline_append_seconds`, by outcome), the feed (open streams, live
  subscribers, the newest committed position against the one the hub has
  delivered, and the events between them), the pool (connections in use, idle,
  and requests waiting for one) and the answer cache (api/answers.py). The
  feed's lag needs the database: it is read, in one statement, when scraped.

/metrics obeys the read guard: with TIMELINE_READS_NEED_KEY on it needs a key
(Prometheus sends one with `authorization: {credentials: ...}` in its scrape
config), since request counts by route say how the store is used; otherwise it
is public, like every read. It is left out of its own request counts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.config.app import AppConfig
from litestar.enums import MediaType
from litestar.plugins import InitPluginProtocol
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import Guard
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from timeline.api.figures import (
    LAG_CAP,
    PREFIX,
    cache_figures,
    feed_figures,
    log_figures,
    pool_figures,
    relay_figures,
)
from timeline.api.state import AppState
from timeline.commands.errors import StaleVersion
from timeline.commands.writer import Writer, Written
from timeline.domain.errors import DomainError
from timeline.feed.plugin import FeedPlugin
from timeline.store.db import fetch
from timeline.store.errors import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    StreamVersionConflict,
)
from timeline.store.feed import FEED_END, HORIZON

PATH = "/metrics"

# Seconds: a write is a few milliseconds; a slow one, under load, a good part of a second.
APPEND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# Committed events past the hub's cursor, counted up to LAG_CAP (a walk of the feed
# index that stops there: after a big import the figure says "at least", cheaply).
LAG = (
    f"SELECT count(*) FROM (SELECT 1 FROM events WHERE tx_id < {HORIZON} "
    "AND (tx_id, position) > (CAST(CAST($1 AS text) AS xid8), $2) "
    f"ORDER BY events.tx_id, events.position LIMIT {LAG_CAP}) AS behind"
)


# The verifiable log and the relays, each read by its primary key's index (never a scan).
LOG_FIGURES = (
    "SELECT (SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves), "
    "(SELECT max(position) FROM log_leaves), "
    "(SELECT max(tree_size) FROM log_checkpoints), "
    "(SELECT extract(epoch FROM now() - max(signed_at))::float8 FROM log_checkpoints)"
)
RELAY_FIGURES = (
    "SELECT name, position, published, extract(epoch FROM now() - saved_at)::float8 "
    "FROM relay_checkpoints ORDER BY name"
)


class Metrics:
    """One app's figures beyond the request metrics, and what they are read from."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.append_seconds = Histogram(
            f"{PREFIX}_append_seconds",
            "Seconds one write took: load, decide, append with its projection rows",
            ["outcome"],
            buckets=APPEND_BUCKETS,
            registry=self.registry,
        )
        self.state: AppState | None = None
        self.feed: FeedPlugin | None = None
        # Read from the database at each scrape (refresh), reported by collect.
        self.newest: tuple[int, int] | None = None
        self.lag: int | None = None
        self.log: tuple[Any, ...] | None = None  # leaves, last position, signed size, age
        self.relays: list[tuple[Any, ...]] = []  # name, position, published, checkpoint age
        self.registry.register(_Figures(self))

    def bind(self, app: Litestar) -> None:
        """On startup: the app's state and feed, which the figures are read from."""
        state = app.state.get("timeline")
        self.state = state if isinstance(state, AppState) else None
        self.feed = app.plugins.get(FeedPlugin)

    async def refresh(self) -> None:
        """Read what needs the database: the newest committed event, and the hub's lag."""
        hub = self.feed.hub if self.feed is not None else None
        if self.state is None or hub is None:
            return
        self.newest = self.lag = None
        try:
            async with self.state.read() as conn:
                end = await fetch(conn, FEED_END)
                self.newest = (int(end[0][0]), int(end[0][1])) if end else (0, 0)
                tx, position = hub.key
                self.lag = int((await fetch(conn, LAG, str(tx), position))[0][0])
                self.log = tuple((await fetch(conn, LOG_FIGURES))[0])
                self.relays = [tuple(row) for row in await fetch(conn, RELAY_FIGURES)]
        except DatabaseUnavailable:
            # The figures of this process still answer while the database does not: an
            # outage is when they are wanted. Those are left out (absent, not 0).
            self.newest = self.lag = self.log = None
            self.relays = []

    def expose(self) -> bytes:
        return bytes(generate_latest(REGISTRY) + generate_latest(self.registry))


class _Figures(Collector):
    """Gauges and counters read off the live objects at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        state = self.metrics.state
        if state is not None:
            yield from pool_figures(state.engine.sync_engine.pool)
            yield from cache_figures(state)
        hub = self.metrics.feed.hub if self.metrics.feed is not None else None
        if hub is not None:
            yield from feed_figures(hub, self.metrics.newest, self.metrics.lag)
        yield from log_figures(self.metrics.log)
        yield from relay_figures(self.metrics.relays)

    def describe(self) -> Iterable[Metric]:
        return ()  # names vary with what is running; nothing to check at registration


class TimedWriter(Writer):
    """The Writer, timing each write into `timeline_append_seconds` by outcome."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds = metrics.append_seconds

    async def run(self, *args: Any, **kwargs: Any) -> Written:
        started = time.perf_counter()
        outcome = "failed"
        try:
            written = await super().run(*args, **kwargs)
            outcome = "replayed" if written.replayed else "written"
            return written
        except (DomainError, StaleVersion, StreamVersionConflict, IdempotencyKeyReused):
            outcome = "refused"
            raise
        finally:
            self.seconds.labels(outcome).observe(time.perf_counter() - started)


class MetricsController(PrometheusController):
    path = PATH

    @get(
        operation_id="GetMetrics",
        summary="This process's figures, in the Prometheus text format",
        media_type=MediaType.TEXT,
        description="Requests by route and status with latency histograms, write latency, "
        "the feed's streams and lag, the pool and the answer cache (docs/operations.md).",
    )
    async def get(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        metrics = request.app.plugins.get(MetricsPlugin).metrics
        await metrics.refresh()
        # As a header: given as media_type, Litestar would append a second charset.
        return Response(metrics.expose(), headers={"Content-Type": CONTENT_TYPE_LATEST})


class MetricsPlugin(InitPluginProtocol):
    """Mounts /metrics and the request metrics middleware; holds the app's `Metrics`."""

    def __init__(self, *, guards: Sequence[Guard] = ()) -> None:
        self.metrics = Metrics()
        self.guards = list(guards)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        config = PrometheusConfig(
            app_name=PREFIX, prefix=PREFIX, group_path=True, exclude=[f"^{PATH}$"]
        )
        # Outermost of Litestar's middleware, so a refused write (rate limit) is counted.
        app_config.middleware.insert(0, config.middleware)
        app_config.route_handlers.append(
            Router(path="/", route_handlers=[MetricsController], guards=self.guards)
        )
        app_config.on_startup.append(self.metrics.bind)
        return app_config
