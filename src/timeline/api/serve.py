"""`timeline serve`: the API on uvicorn, with graceful shutdown and JSON logs.

uvicorn rather than granian, by measurement (tests/bench/bench_http.py): the
routes that touch PostgreSQL run at the same rate on both, since the database
and the event loop's work per request bound them, not the HTTP server; the
hello-world ceiling is higher on granian but no route of ours is near it.
uvicorn is already a dependency, and its shutdown is the well-trodden one.

Shutdown (SIGTERM or SIGINT): uvicorn stops accepting, waits for every open
response to finish, and only then runs the app's shutdown hooks. A feed
stream never finishes by itself, so `Server` ends them first: when uvicorn
begins to shut down, it closes the listening sockets (a client reconnecting
does not land on this server again) and tells the feed to end every stream,
each with a last comment and a `retry:` hint, then the end of its chunked
body. The connections then close within uvicorn's next polls, and the process
exits with status 0 in well under a second.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator

import uvicorn
from uvicorn.server import HANDLED_SIGNALS

from timeline.api.app import create_app
from timeline.api.logs import configure_logging
from timeline.api.protocol import problem_protocol
from timeline.config import Settings
from timeline.feed.plugin import FeedPlugin

# On SIGTERM or SIGINT: stop accepting, let requests in flight finish for up to
# this long, then run the app's shutdown (close feed streams, dispose the pool).
GRACEFUL_SHUTDOWN_SECONDS = 10


class Server(uvicorn.Server):
    """uvicorn's server, calling `on_shutdown_start` as soon as it begins to shut down."""

    def __init__(self, config: uvicorn.Config, on_shutdown_start: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_shutdown_start = on_shutdown_start

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in getattr(self, "servers", []):
            server.close()  # no new connection from here on; uvicorn closes them again
        self.on_shutdown_start()
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's signal handling, without raising the signal again on the way out.

        uvicorn re-raises a captured SIGTERM after its shutdown, so the process
        dies of it (status -15) even after shutting down cleanly; `timeline
        serve` exits 0 instead, as a service manager expects of a clean stop.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


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
        # X-Forwarded-For / -Proto are believed only from the proxies named in
        # TIMELINE_TRUSTED_PROXIES; with none named, never (a client could say anything).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
        # Headers past 64 KiB are refused while still being read (h11); the edge
        # middleware answers 431 past MAX_HEADER_BYTES whichever parser runs.
        h11_max_incomplete_event_size=64 * 1024,
        # uvicorn's own 400s (a request it cannot parse) as problem+json (api/protocol.py).
        # ... and a deadline for a request's line and headers (408), which uvicorn lacks.
        http=problem_protocol(settings.header_timeout),
        # Connections and requests at once, SSE streams included; beyond it uvicorn's 503.
        limit_concurrency=settings.max_connections,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        lifespan="on",
    )
    print(f"timeline: serving on http://{host}:{port} (docs at /schema)", file=sys.stderr)
    feed = app.plugins.get(FeedPlugin)
    server = Server(config, on_shutdown_start=feed.end_streams)
    server.run()
    return 0 if server.started else 1
