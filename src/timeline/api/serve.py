"""`timeline serve`: the API on uvicorn, with graceful shutdown and JSON logs.

uvicorn rather than granian, by measurement (tests/bench/bench_http.py): the
routes that touch PostgreSQL run at the same rate on both, since the database
and the event loop's work per request bound them, not the HTTP server; the
hello-world ceiling is higher on granian but no route of ours is near it.
uvicorn is already a dependency, and its shutdown is the well-trodden one.
"""

from __future__ import annotations

import sys

import uvicorn

from timeline.api.app import create_app
from timeline.api.logs import configure_logging
from timeline.config import Settings

# On SIGTERM or SIGINT: stop accepting, let requests in flight finish for up to
# this long, then run the app's shutdown (close feed streams, dispose the pool).
GRACEFUL_SHUTDOWN_SECONDS = 10


def serve(settings: Settings, database_url: str, *, host: str | None, port: int | None) -> int:
    """Run the API until SIGTERM or SIGINT; 0 after a clean shutdown."""
    configure_logging(settings.log_level)
    host = host or settings.host
    port = port or settings.port
    app = create_app(settings, database_url)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
    print(f"timeline: serving on http://{host}:{port} (docs at /schema)", file=sys.stderr)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1
