"""Where the tests' PostgreSQL comes from: the URL, else a container, else embedded.

TIMELINE_TEST_DATABASE_URL when set (CI sets it to the machine's service);
else testcontainers when a Docker engine answers; else the embedded server
(pgserver) in .data/test-pg. Each test session makes its own scratch database
and drops it at the end.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server's maintenance database."""
    url = os.environ.get("TIMELINE_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    from timeline.embedded import embedded_url

    root = Path(__file__).resolve().parents[1]
    yield embedded_url(root / ".data" / "test-pg", announce=False)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A fresh database on `server`, dropped afterwards."""
    name = f"timeline_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server, name)
    finally:
        with psycopg.connect(_libpq(server), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
