"""The log's commands end to end: key create, status, integrate, export, verify."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import asyncpg
import pytest

from timeline.cli import main
from timeline.store.db import asyncpg_dsn
from timeline.tlog.note import Verifier


async def latest_note(url: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return str(await conn.fetchval("SELECT note FROM log_checkpoints ORDER BY tree_size DESC"))
    finally:
        await conn.close()


def test_a_reader_checks_an_export_with_nothing_but_the_verifier_key(
    log_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_file = tmp_path / "secret" / "log.key"
    monkeypatch.setenv("TIMELINE_DATABASE_URL", log_url)
    monkeypatch.setenv("TIMELINE_LOG_KEY_FILE", str(key_file))
    monkeypatch.setenv("TIMELINE_LOG_ORIGIN", "timeline.test/cli")
    assert main(["log", "key", "create"]) == 0
    vkey = capsys.readouterr().out.strip()
    assert Verifier.parse(vkey).name == "timeline.test/cli"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert main(["log", "key", "create"]) == 1  # never replaces a key
    assert "exists" in capsys.readouterr().err

    assert main(["demo", "load"]) == 0
    assert main(["log", "status"]) == 0
    out = capsys.readouterr().out
    assert "tree size: 0" in out
    assert "latest checkpoint: none signed" in out
    assert "integration lag: none" not in out

    assert main(["log", "integrate"]) == 0
    assert main(["log", "status"]) == 0
    out = capsys.readouterr().out
    size = int(out.split("tree size: ")[1].split()[0])
    assert size > 10
    assert f"latest checkpoint: size {size}" in out
    assert "integration lag: none" in out

    export, checkpoint = tmp_path / "log.ndjson", tmp_path / "checkpoint"
    assert main(["export", "-o", str(export)]) == 0
    checkpoint.write_text(asyncio.run(latest_note(log_url)))
    capsys.readouterr()
    args = ["verify", str(export), "--checkpoint", str(checkpoint), "--key", vkey]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "VERIFIED"


def test_integrate_without_a_key_says_how_to_make_one(
    log_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TIMELINE_DATABASE_URL", log_url)
    monkeypatch.setenv("TIMELINE_LOG_KEY_FILE", str(tmp_path / "none.key"))
    assert main(["log", "integrate"]) == 2
    assert "timeline log key create" in capsys.readouterr().err
