"""`make bench`: run every tests/bench/bench_*.py against a scratch database.

Each module exposes `async def run(bench: Bench, database_url: str) -> None`.
Pass module names to run only some: `python -m tests.bench store read`.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
from pathlib import Path

from tests.bench.harness import Bench
from tests.pg import scratch_database, server_url
from timeline.migrate import migrate


def main(only: list[str]) -> int:
    bench = Bench()
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    if only:
        names = [n for n in names if n.removeprefix("bench_") in only or n in only]
    with server_url() as server:
        for name in names:
            print(f"\n== {name}", flush=True)
            module = importlib.import_module(f"tests.bench.{name}")
            with scratch_database(server) as url:
                migrate(url)
                bench.database_url = url
                asyncio.run(module.run(bench, url))
    bench.report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
