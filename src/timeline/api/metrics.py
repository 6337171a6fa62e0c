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
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.pool import Pool

from timeline.api.state import AppState
from timeline.commands.errors import StaleVersion
from timeline.commands.writer import Writer, Written
from timeline.domain.errors import DomainError
from timeline.feed.hub import Hub
from timeline.feed.plugin import FeedPlugin
from timeline.store.db import fetch
from timeline.store.errors import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    StreamVersionConflict,
)
from timeline.store.feed import FEED_END, HORIZON

PREFIX = "timeline"
PATH = "/metrics"

# Seconds: a write is a few milliseconds; a slow one, under load, a good part of a second.
APPEND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# Committed events past the hub's cursor, counted up to this many (a walk of the feed
# index that stops there: after a big import the figure says "at least", cheaply).
LAG_CAP = 10_000
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


def waiting_for(pool: Pool) -> int:
    """Requests waiting for a pooled connection now.

    SQLAlchemy's pool does not count them; they are the waiters of the asyncio
    queue inside its async queue (`AsyncAdaptedQueue`). 0 when the layout is not
    that one, rather than a wrong figure.
    """
    queue = getattr(pool, "_pool", None)
    inner = getattr(queue, "_queue", None) if queue is not None else None
    getters = getattr(inner, "_getters", ())
    return sum(1 for waiter in getters if not waiter.done())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


class _Figures(Collector):
    """Gauges and counters read off the live objects at each scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        state = self.metrics.state
        if state is not None:
            yield from pool_figures(state.engine.sync_engine.pool)
            yield from _cache(state)
        hub = self.metrics.feed.hub if self.metrics.feed is not None else None
        if hub is not None:
            yield from _feed(hub, self.metrics)
        yield from _log(self.metrics.log)
        yield from _relays(self.metrics.relays)

    def describe(self) -> Iterable[Metric]:
        return ()  # names vary with what is running; nothing to check at registration


def pool_figures(pool: Pool) -> Iterable[Metric]:
    in_use = getattr(pool, "checkedout", lambda: 0)()
    idle = getattr(pool, "checkedin", lambda: 0)()
    size = getattr(pool, "size", lambda: 0)()
    yield _gauge("pool_connections_in_use", "Pooled connections checked out now", in_use)
    yield _gauge("pool_connections_idle", "Pooled connections open and free now", idle)
    yield _gauge("pool_size", "Connections the pool keeps (it may open as many more)", size)
    yield _gauge("pool_waiting", "Requests waiting for a pooled connection now", waiting_for(pool))


def _cache(state: AppState) -> Iterable[Metric]:
    cache = state.answers
    yield _gauge("answer_cache_entries", "Encoded read answers kept", len(cache))
    yield _gauge("answer_cache_bytes", "Bytes the kept answers take (estimate)", cache.size)
    yield _gauge("answer_cache_max_bytes", "TIMELINE_READ_CACHE_BYTES", cache.max_bytes)
    checks = CounterMetricFamily(
        f"{PREFIX}_answer_cache_checks", "Freshness checks of kept answers", value=cache.checks
    )
    fills = CounterMetricFamily(
        f"{PREFIX}_answer_cache_fills", "Answers computed (not kept, or changed)", value=cache.fills
    )
    yield checks
    yield fills


def _feed(hub: Hub, metrics: Metrics) -> Iterable[Metric]:
    yield _gauge("feed_streams", "Open SSE streams, live or catching up", hub.streams)
    yield _gauge("feed_subscribers", "SSE streams live at the hub's cursor", hub.subscriber_count)
    yield _gauge("feed_delivered_position", "Position of the last event the hub read", hub.key[1])
    if metrics.newest is not None:
        newest = metrics.newest[1]
        yield _gauge("feed_newest_position", "Position of the newest committed event", newest)
    if metrics.lag is not None:
        yield _gauge(
            "feed_lag_events",
            f"Committed events the hub has not delivered yet (counted up to {LAG_CAP})",
            metrics.lag,
        )


def _log(figures: tuple[Any, ...] | None) -> Iterable[Metric]:
    """The verifiable log (docs/log.md): its tree, the last event in it, what is signed."""
    if figures is None:
        return
    leaves, last_position, signed, age = figures
    yield _gauge("log_tree_size", "Leaves in the log's Merkle tree", leaves)
    if last_position is not None:
        yield _gauge(
            "log_integrated_position",
            "Position of the newest event in the tree (against feed_newest_position)",
            last_position,
        )
    yield _gauge("log_signed_size", "Tree size of the latest signed checkpoint", signed or 0)
    if age is not None:
        yield _gauge(
            "log_checkpoint_age_seconds", "Seconds since the latest checkpoint was signed", age
        )


def _relays(relays: list[tuple[Any, ...]]) -> Iterable[Metric]:
    """Each relay's saved checkpoint (docs/scale.md): how far it has published, and when."""
    if not relays:
        return
    position = GaugeMetricFamily(
        f"{PREFIX}_relay_checkpoint_position",
        "Position of the last event the relay saved as acknowledged (against feed_newest_position)",
        labels=["relay"],
    )
    published = CounterMetricFamily(
        f"{PREFIX}_relay_published", "Events the relay has had acknowledged", labels=["relay"]
    )
    age = GaugeMetricFamily(
        f"{PREFIX}_relay_checkpoint_age_seconds",
        "Seconds since the relay last saved its checkpoint",
        labels=["relay"],
    )
    for name, at, count, seconds in relays:
        position.add_metric([name], at)
        published.add_metric([name], count)
        age.add_metric([name], seconds)
    yield from (position, published, age)


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
