"""`make bench`: run every tests/bench/bench_*.py against a scratch database.

Each module exposes `async def run(bench: Bench, database_url: str) -> None`.
Modules naming the same `DATABASE` share one scratch database (filled once, by
whichever runs first); every other module gets its own, dropped after it.
A module that fails is reported and the others still run.
Pass module names to run only some: `python -m tests.bench store read`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from tests.bench.harness import Bench, elapsed
from tests.pg import scratch_database, server_url
from timeline.migrate import migrate


def _kind() -> str:
    return "url" if os.environ.get("TIMELINE_TEST_DATABASE_URL") else "embedded"


def quiet_logging() -> None:
    """Only warnings and errors from here on, whatever configures logging later.

    A Litestar app made with the default logging config (bench_feed's bare apps) puts
    the root logger at INFO, for every later module too: then httpx logged each HTTP
    request, alembic each migration of each scratch database, uvicorn each server's
    start. `logging.disable` holds whatever levels are set after it.
    """
    logging.disable(logging.INFO)


def main(only: list[str]) -> int:
    quiet_logging()
    bench = Bench(database_kind=_kind())
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    if only:
        names = [n for n in names if n.removeprefix("bench_") in only or n in only]
    failed: list[str] = []
    started = time.perf_counter()
    with server_url() as server, contextlib.ExitStack() as shared:
        print(f"database: {bench.database_kind} ({server.split('@')[-1]})", flush=True)
        databases: dict[str, str] = {}
        for name in names:
            print(f"\n== {name}", flush=True)
            module_started = time.perf_counter()
            module = importlib.import_module(f"tests.bench.{name}")
            key = getattr(module, "DATABASE", None)
            with contextlib.ExitStack() as own:
                if key is not None and key in databases:
                    url = databases[key]
                else:
                    url = (shared if key is not None else own).enter_context(
                        scratch_database(server)
                    )
                    migrate(url)
                    if key is not None:
                        databases[key] = url
                bench.database_url = url
                try:
                    asyncio.run(module.run(bench, url))
                except Exception:
                    traceback.print_exc()
                    print(f"  {name} FAILED (the others still run)", flush=True)
                    failed.append(name)
            print(f"  ({name}: {elapsed(module_started)})", flush=True)
    bench.report()
    print(f"\nmake bench: {elapsed(started)} in all on {bench.database_kind}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
