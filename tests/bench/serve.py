"""The API served as a deployment serves it: uvicorn, one worker, in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

# The API plus the benchmarks' baseline routes, on TIMELINE_DATABASE_URL.
FACTORY = "tests.bench.bench_http:bench_app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def uvicorn(database_url: str, factory: str = FACTORY) -> Iterator[str]:
    """The server's base URL, serving until the block ends."""
    port = free_port()
    env = dict(os.environ, TIMELINE_DATABASE_URL=database_url, TIMELINE_LOG_LEVEL="warning")
    cmd = [
        *(sys.executable, "-m", "uvicorn", "--factory", factory),
        *("--port", str(port), "--no-access-log", "--log-level", "warning"),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)
