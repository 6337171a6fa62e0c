"""`timeline db status` and `timeline db stop`: the embedded server is seen and stopped.

A server of the test's own, in a folder of its own (never the shared one): the
embedded PostgreSQL outlives the command that started it, so these two commands
are how a user finds and ends it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from timeline.cli import main
from timeline.embedded import embedded_status, embedded_url, stop_embedded


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Under /tmp and readable by all: as root, pgserver runs PostgreSQL as another user.
    root = Path(tempfile.mkdtemp(prefix="timeline-db-", dir="/tmp"))
    root.chmod(0o755)
    folder = root / "pg"
    monkeypatch.delenv("TIMELINE_DATABASE_URL", raising=False)
    monkeypatch.setenv("TIMELINE_DATA_DIR", str(folder))
    try:
        yield folder
    finally:
        stop_embedded(folder)
        shutil.rmtree(root, ignore_errors=True)
        # pgserver logs "exiting" at INFO from its atexit hook, after pytest has closed the
        # stream a handler installed during the session writes to.
        logging.getLogger("pgserver").setLevel(logging.WARNING)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_status_of_a_folder_with_no_server_says_so_and_starts_none(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "status"]) == 3
    assert capsys.readouterr().out.strip() == f"embedded PostgreSQL in {data_dir}: not running"
    assert not (data_dir / "postmaster.pid").exists()
    assert main(["db", "stop"]) == 0
    assert "was not running" in capsys.readouterr().out


def test_status_finds_the_running_server_and_stop_ends_it(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = embedded_url(data_dir, announce=False)
    server = embedded_status(data_dir)
    assert server.running
    assert server.pid is not None
    assert _alive(server.pid)
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert f"running, pid {server.pid}" in out
    assert url in out
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)

    assert main(["db", "stop"]) == 0
    assert f"stopped (pid {server.pid})" in capsys.readouterr().out
    assert not _alive(server.pid)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    assert main(["db", "status"]) == 3
    assert "not running" in capsys.readouterr().out
    assert main(["db", "stop"]) == 0
    assert "was not running" in capsys.readouterr().out


def test_status_says_when_commands_use_a_configured_server_instead(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIMELINE_DATABASE_URL", "postgresql://db.example/timeline")
    assert main(["db", "status"]) == 3
    assert "TIMELINE_DATABASE_URL is set" in capsys.readouterr().err
