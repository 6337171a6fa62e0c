"""The embedded PostgreSQL: `pgserver` in a data folder, when no URL is set.

The server outlives the command that started it (its parent becomes PID 1), so
that `timeline migrate`, `demo load` and `serve` share one; `timeline db status`
says whether it runs and `timeline db stop` (or `make stop`) stops it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import warnings
from pathlib import Path

import msgspec

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


class EmbeddedServer(msgspec.Struct, frozen=True, kw_only=True):
    """What the data folder's postmaster.pid says, and whether that process still runs."""

    data_dir: Path
    pid: int | None
    running: bool
    url: str | None


def embedded_status(data_dir: Path) -> EmbeddedServer:
    """The embedded server of `data_dir`, read from its postmaster.pid; never starts one."""
    data_dir = data_dir.resolve()
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return EmbeddedServer(data_dir=data_dir, pid=None, running=False, url=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, as in embedded_url
        from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    running = info is not None and info.is_running()
    url = None
    if running and info is not None:
        with contextlib.suppress(RuntimeError):
            url = str(info.get_uri())
    return EmbeddedServer(
        data_dir=data_dir, pid=None if info is None else info.pid, running=running, url=url
    )


def stop_embedded(data_dir: Path, *, timeout: float = 30.0) -> EmbeddedServer:
    """Stop the embedded server of `data_dir` (PostgreSQL's fast shutdown); its status before.

    SIGINT is the postmaster's fast shutdown: open sessions are ended, running
    transactions rolled back, and the server exits cleanly (no recovery at the
    next start). Waits up to `timeout` seconds for the process to go.
    """
    before = embedded_status(data_dir)
    if not before.running or before.pid is None:
        return before
    os.kill(before.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(before.pid):
        if time.monotonic() > deadline:
            raise OSError(f"the embedded server (pid {before.pid}) is still running")
        time.sleep(0.05)
    return before


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
