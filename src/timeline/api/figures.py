"""The figures /metrics reads off the live objects at each scrape (api/metrics.py):
the pool, the answer cache, the feed, the verifiable log and the relays.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.pool import Pool

from timeline.api.state import AppState
from timeline.feed.hub import Hub

PREFIX = "timeline"

# Committed events past the hub's cursor, counted up to this many (a walk of the feed
# index that stops there: after a big import the figure says "at least", cheaply).
LAG_CAP = 10_000


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


def pool_figures(pool: Pool) -> Iterable[Metric]:
    in_use = getattr(pool, "checkedout", lambda: 0)()
    idle = getattr(pool, "checkedin", lambda: 0)()
    size = getattr(pool, "size", lambda: 0)()
    yield _gauge("pool_connections_in_use", "Pooled connections checked out now", in_use)
    yield _gauge("pool_connections_idle", "Pooled connections open and free now", idle)
    yield _gauge("pool_size", "Connections the pool keeps (it may open as many more)", size)
    yield _gauge("pool_waiting", "Requests waiting for a pooled connection now", waiting_for(pool))


def cache_figures(state: AppState) -> Iterable[Metric]:
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


def feed_figures(hub: Hub, newest: tuple[int, int] | None, lag: int | None) -> Iterable[Metric]:
    yield _gauge("feed_streams", "Open SSE streams, live or catching up", hub.streams)
    yield _gauge("feed_subscribers", "SSE streams live at the hub's cursor", hub.subscriber_count)
    yield _gauge("feed_delivered_position", "Position of the last event the hub read", hub.key[1])
    if newest is not None:
        yield _gauge("feed_newest_position", "Position of the newest committed event", newest[1])
    if lag is not None:
        yield _gauge(
            "feed_lag_events",
            f"Committed events the hub has not delivered yet (counted up to {LAG_CAP})",
            lag,
        )


def log_figures(figures: tuple[Any, ...] | None) -> Iterable[Metric]:
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


def relay_figures(relays: list[tuple[Any, ...]]) -> Iterable[Metric]:
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
