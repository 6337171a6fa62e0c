"""A real streaming standby of a throwaway cluster: `pg_basebackup -R`, its own port and folder."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.cluster import Cluster, throwaway_cluster


class Standby(Cluster):
    """A hot standby streaming from `primary`, made by pg_basebackup -R."""

    def __init__(self, root: Path, primary: Cluster) -> None:
        super().__init__(root, primary.bin)
        self.primary = primary

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
            "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nunix_socket_directories = '{self.root}'\n"
                "hot_standby = on\nhot_standby_feedback = on\n"
            )

    def replay_lsn(self) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])

    def wait_replayed(self, timeout: float = 60.0) -> None:
        """Until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url, autocommit=True) as conn:
            while True:
                got = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
                ).fetchone()
                if got and got[0]:
                    return
                assert time.monotonic() < deadline, "the standby never caught up"
                time.sleep(0.02)


@contextlib.contextmanager
def primary_and_standby() -> Iterator[tuple[Cluster, Standby]]:
    """A throwaway primary and a streaming standby of it; both removed afterwards."""
    with throwaway_cluster() as primary:
        root = Path(tempfile.mkdtemp(prefix="timeline-standby-"))
        standby = Standby(root, primary)
        try:
            standby.init()
            standby.start()
            yield primary, standby
        finally:
            standby.stop("immediate")
            shutil.rmtree(root, ignore_errors=True)
