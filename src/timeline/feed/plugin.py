"""The feed as a Litestar plugin: its routes, its LISTEN connection, its notifier.

The API's `create_app` does `feed = FeedPlugin(database_url, engine=engine)`,
adds it to `plugins=[...]`, and builds its Writer with `on_commit=feed.poke`,
so every commit wakes live readers from outside the writing transaction. Given
the API's engine, the feed reads through the API's pool (one pool per
process); alone (tests, benchmarks) it makes its own.

Stopping: `end_streams()` ends every open stream at once. The server calls it
when it begins to shut down (api/serve.py), since uvicorn runs the app's
shutdown hooks only after every response has finished, and a stream never
finishes by itself.

A malformed `after` raises InvalidCursor, which the API's one exception map
(api/errors.py) answers as a 400 naming the field; an app that mounts the feed
installs that map (`ProblemDetailsPlugin(problem_details_config())`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.types import Guard
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.feed.hub import Hub
from timeline.feed.notify import Notifier
from timeline.feed.routes import list_events, stream_events
from timeline.store.db import API_TIMEOUTS, Timeouts, create_engine
from timeline.store.errors import DatabaseUnavailable


def unavailable_problem(_request: Request[Any, Any, Any], error: Exception) -> Response[object]:
    """A 503 with Retry-After; the API's own error map takes precedence when it has one."""
    return Response(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the database does not answer; retry later",
        },
        status_code=503,
        headers={"Retry-After": "1"},
        media_type="application/problem+json",
    )


STATE_KEY = "timeline_feed_hub"


def provide_hub(state: State) -> Hub:
    """The running hub; kept in app state because Litestar copies handlers and their providers."""
    hub = state.get(STATE_KEY)
    assert isinstance(hub, Hub), "the feed is not started"
    return hub


SEES_METADATA_KEY = "timeline_feed_sees_metadata"


async def provide_private(request: Request[Any, Any, Any]) -> bool:
    """Whether this reader sees each event's whole metadata, or only its public part.

    The API decides (api/auth.py); with no one to ask (the feed alone, in tests and
    benchmarks) every reader may.
    """
    decide = request.app.state.get(SEES_METADATA_KEY)
    return True if decide is None else bool(await decide(request))


class FeedPlugin(InitPluginProtocol):
    """Mounts /v1/events and /v1/events/stream, and owns the process's one LISTEN connection."""

    def __init__(
        self,
        database_url: str,
        *,
        engine: AsyncEngine | None = None,
        pool_size: int = 5,
        buffer_capacity: int = 1000,
        timeouts: Timeouts = API_TIMEOUTS,
        max_streams: int = 1000,
        guards: Sequence[Guard] = (),
        sees_metadata: Callable[[ASGIConnection[Any, Any, Any, Any]], Awaitable[bool]]
        | None = None,
    ) -> None:
        self.database_url = database_url
        # Who may see an event's whole metadata (provide_private).
        self.sees_metadata = sees_metadata
        self.max_streams = max_streams
        self.guards = list(guards)
        self.timeouts = timeouts
        self.pool_size = pool_size
        self.buffer_capacity = buffer_capacity
        self.shared_engine = engine
        self.engine: AsyncEngine | None = None
        self._own_engine: AsyncEngine | None = None
        self.hub: Hub | None = None
        self.notifier: Notifier | None = None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        router = Router(
            path="/v1/events",
            route_handlers=[list_events, stream_events],
            dependencies={
                "feed_hub": Provide(provide_hub, sync_to_thread=False),
                "feed_private": Provide(provide_private),
            },
            guards=self.guards,
            tags=["events"],
        )
        app_config.route_handlers.append(router)
        if self.sees_metadata is not None:
            app_config.state[SEES_METADATA_KEY] = self.sees_metadata
        app_config.on_startup.append(self.start)
        # First: streams end before the pool they read from is disposed.
        app_config.on_shutdown.insert(0, self.close)
        app_config.exception_handlers.setdefault(DatabaseUnavailable, unavailable_problem)
        return app_config

    async def start(self, app: Litestar | None = None) -> None:
        """Open the read pool (unless shared), the LISTEN connection and the notifier."""
        engine = self.shared_engine
        if engine is None:
            engine = self._own_engine = create_engine(
                self.database_url,
                pool_size=self.pool_size,
                application="timeline-feed",
                timeouts=self.timeouts,
            )
        # Autocommit: each page is one statement, with no BEGIN and ROLLBACK around it.
        # (An option of this engine's connections only; the pool is the same.)
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.hub = Hub(
            self.engine,
            self.database_url,
            capacity=self.buffer_capacity,
            timeouts=self.timeouts,
            max_streams=self.max_streams,
        )
        self.notifier = Notifier(self.database_url, timeouts=self.timeouts)
        await self.hub.start()
        await self.notifier.start()
        if app is not None:
            app.state[STATE_KEY] = self.hub

    def end_streams(self) -> None:
        """End every open stream now (each with a last comment and a retry hint)."""
        if self.hub is not None:
            self.hub.end_streams()

    async def close(self) -> None:
        """End every stream, then close the connections (and the pool, if ours)."""
        if self.hub is not None:
            await self.hub.close()
        if self.notifier is not None:
            await self.notifier.close()
        if self._own_engine is not None:
            await self._own_engine.dispose()
        self.hub = self.notifier = None
        self.engine = self._own_engine = None

    def poke(self) -> None:
        """Note that a commit happened: wake this process's readers now, other processes soon."""
        if self.hub is not None:
            self.hub.ignore_pid = self.notifier.pid if self.notifier else None
            self.hub.wake()
        if self.notifier is not None:
            self.notifier.poke()
