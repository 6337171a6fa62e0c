"""A fresh server as a user gets one after `make run`: its own database, migrated, the
demo loaded, `timeline serve` in a process of its own. For tests that use the API as an
outsider does (a generated client, the docs' shell examples)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.bench.serve import free_port
from tests.pg import scratch_database

ROOT = Path(__file__).resolve().parents[1]
TIMELINE = str(Path(sys.executable).with_name("timeline"))


@dataclass(frozen=True)
class Served:
    base_url: str
    database_url: str
    # The environment the server runs in: a `timeline` command run in it uses its database.
    env: dict[str, str]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def fresh_server(postgres_server: str, **settings: str) -> Iterator[Served]:
    """`timeline migrate`, `timeline demo load`, then `timeline serve` on a free port."""
    port = free_port()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_database(postgres_server))
        env = dict(
            os.environ,
            TIMELINE_DATABASE_URL=url,
            TIMELINE_PORT=str(port),
            TIMELINE_LOG_LEVEL="warning",
            **settings,
        )
        for step in (["migrate"], ["demo", "load"]):
            subprocess.run([TIMELINE, *step], env=env, check=True, capture_output=True)
        log = stack.enter_context(tempfile.TemporaryFile())
        proc = subprocess.Popen([TIMELINE, "serve"], env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _answers(f"{base}/health"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"timeline serve did not start: {log.read().decode()}")
                time.sleep(0.1)
            yield Served(base_url=base, database_url=url, env=env)
        finally:
            proc.terminate()
            proc.wait(30)
