"""The Litestar application: routes, the one error map, auth, CORS, OpenAPI and the feed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.routes import HTTPRoute

from timeline import __version__
from timeline.api.assertions import AssertionController
from timeline.api.auth import require_read, sees_metadata
from timeline.api.bodies import StrictBody
from timeline.api.docs_ui import LocalSwaggerUI
from timeline.api.edge import allowed_methods, edge_middleware
from timeline.api.errors import internal_error, problem_details_config
from timeline.api.health import health
from timeline.api.limits import write_rate_limit
from timeline.api.log import LogPlugin
from timeline.api.metrics import MetricsPlugin, TimedWriter
from timeline.api.openapi import document_honestly
from timeline.api.replicas import read_your_writes
from timeline.api.requests import request_id_middleware
from timeline.api.sources import SourceController
from timeline.api.state import DEPENDENCIES, AppState
from timeline.api.timelines import TimelineController
from timeline.api.traces import traces_plugins
from timeline.config import Settings
from timeline.feed.plugin import FeedPlugin
from timeline.store.db import Timeouts, create_engine
from timeline.store.idempotency import Purger
from timeline.web import route_handlers as web_route_handlers
from timeline.web import template_config

DESCRIPTION = """\
An event-sourced, bitemporal store of conflict timelines.

Every read that returns state takes `known_at` (knowledge as of a date),
`recorded_at` (what this store held then), `as_of` (known_at and occurred_to
at once) and `occurred_from`/`occurred_to`. Writes need
`Authorization: Bearer <key>` with the `write` scope (`timeline keys create
--scope write`). Errors are `application/problem+json` (RFC 9457).
"""


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="timeline",
        version=__version__,
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[LocalSwaggerUI()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", description="a key from `timeline keys create`"
                )
            }
        ),
        use_handler_docstrings=True,
    )


def api_timeouts(settings: Settings) -> Timeouts:
    return Timeouts(
        statement=settings.db_statement_timeout,
        command=settings.db_command_timeout,
        acquire=settings.db_acquire_timeout,
        connect=settings.db_connect_timeout,
    )


def create_app(
    settings: Settings, database_url: str, *, extra_route_handlers: Sequence[Any] = ()
) -> Litestar:
    """The API on `database_url`; `extra_route_handlers` is for benchmarks' baseline routes."""
    timeouts = api_timeouts(settings)
    engine = create_engine(
        database_url, pool_size=settings.pool_size, application="timeline-api", timeouts=timeouts
    )
    # The feed's routes obey the same read guard as every other read (TIMELINE_READS_NEED_KEY).
    feed = FeedPlugin(
        database_url,
        engine=engine,
        timeouts=timeouts,
        max_streams=settings.max_streams,
        guards=[require_read],
        sees_metadata=sees_metadata,
    )
    # /metrics obeys the read guard too (docs/operations.md says why).
    metrics = MetricsPlugin(guards=[require_read])
    writer = TimedWriter(
        engine,
        metrics=metrics.metrics,
        on_commit=feed.poke,
        idempotency_ttl=settings.idempotency_ttl_seconds,
    )
    purger = Purger(
        engine, ttl=settings.idempotency_ttl_seconds, every=settings.idempotency_purge_seconds
    )
    # Reads (not the feed, not a write's read-back) on a standby when one is set (docs/scale.md).
    read_engine = None
    if settings.read_database_url is not None:
        read_engine = create_engine(
            settings.read_database_url,
            pool_size=settings.pool_size,
            application="timeline-api-read",
            timeouts=timeouts,
        )

    async def dispose_engine() -> None:
        await engine.dispose()
        if read_engine is not None:
            await read_engine.dispose()

    cors = None
    if settings.cors_origins:
        # Public reads only: writes need a key, which has no business in a browser page.
        cors = CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["If-None-Match", "Authorization"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Cache-Control"],
            max_age=3600,
        )
    limit = write_rate_limit(settings.write_rate_limit)
    app = Litestar(
        route_handlers=[
            TimelineController,
            SourceController,
            AssertionController,
            health,
            *web_route_handlers(),
            *extra_route_handlers,
        ],
        plugins=[
            ProblemDetailsPlugin(problem_details_config()),
            feed,
            LogPlugin(settings, database_url),
            metrics,
            *traces_plugins(),
        ],
        exception_handlers={Exception: internal_error},
        request_max_body_size=settings.max_body_bytes,
        # Bodies are decoded strictly (api/bodies.py); answers are encoded as they are.
        dto=StrictBody,
        return_dto=None,
        cors_config=cors,
        middleware=[limit.middleware] if limit is not None else [],
        openapi_config=openapi_config(),
        template_config=template_config(),
        state=State({"timeline": AppState(settings, engine, writer, read_engine)}),
        # Every route may take `writer` and `reader` (api/state.py).
        dependencies=DEPENDENCIES,
        before_request=read_your_writes,
        on_startup=[purger.start],
        on_shutdown=[purger.stop, dispose_engine],
        logging_config=None,
    )
    document_honestly(app, settings)
    # Outside Litestar's own layers, so even a path no route matches gets a request id.
    routes = {
        r.path_format: {str(m) for m in r.methods} for r in app.routes if isinstance(r, HTTPRoute)
    }
    app.asgi_handler = request_id_middleware(
        edge_middleware(
            app.asgi_handler, vary_origin=cors is not None, allow=allowed_methods(routes)
        )
    )
    return app
