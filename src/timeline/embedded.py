"""The embedded PostgreSQL: `pgserver` in a data folder, when no URL is set."""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path

from timeline.config import Settings


def embedded_url(data_dir: Path, *, announce: bool = True) -> str:
    """Start (or reuse) the embedded server in `data_dir` and return its URL."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers and in CI);
    # its per-user fallback under /tmp is what pgserver's lock file needs anyway.
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
    url = str(server.get_uri())
    if announce:
        print(f"timeline: embedded PostgreSQL in {data_dir} ({url})", file=sys.stderr)
    return url


def database_url(settings: Settings, *, announce: bool = True) -> str:
    """The configured database URL, or the embedded server's."""
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.data_dir, announce=announce)
