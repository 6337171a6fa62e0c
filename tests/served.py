"""A fresh server as a user has one after `make run`: a database of its own, migrated,
the demo loaded, `timeline serve` in its own process. For tests that use the API as an
outsider does (a generated client, the docs' shell examples)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from tests.faults.server import cli, serve
from tests.pg import scratch_database


@dataclass(frozen=True)
class Served:
    base_url: str
    database_url: str

    def env(self) -> dict[str, str]:
        """An environment in which a `timeline` command uses this server's database."""
        return dict(os.environ, TIMELINE_DATABASE_URL=self.database_url)


@contextlib.contextmanager
def fresh_server(postgres_server: str, **settings: str) -> Iterator[Served]:
    """`timeline migrate`, `timeline demo load`, then `timeline serve` on a free port."""
    with scratch_database(postgres_server) as url:
        for step in (("migrate",), ("demo", "load")):
            try:
                cli(url, *step)
            except subprocess.CalledProcessError as failed:
                raise RuntimeError(f"timeline {' '.join(step)}: {failed.stderr}") from None
        with serve(url, **settings) as server:
            yield Served(base_url=server.base, database_url=url)
