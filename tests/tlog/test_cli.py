"""The log's commands end to end: key create, status, integrate, export, verify."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from tests.bench.serve import free_port
from tests.tlog.conftest import until_signed
from timeline.cli import main
from timeline.store.db import asyncpg_dsn
from timeline.tlog.note import Verifier, open_note


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


def _serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    timeline = Path(sys.executable).with_name("timeline")
    return subprocess.Popen(
        [str(timeline), "serve", "--port", env["TIMELINE_PORT"]],
        env=env,
        cwd=cwd,
        stderr=subprocess.PIPE,
    )


def _until_up(base: str) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("timeline serve did not start")


def test_a_first_serve_makes_the_log_key_and_signs_with_it(log_url: str, tmp_path: Path) -> None:
    """No key at the default path: `timeline serve` makes one (0600), says what verifies
    it, and the sequencer signs checkpoints that this verifier key opens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_LOG_")}
    data_dir = tmp_path / "data"
    port = str(free_port())
    env |= {
        "TIMELINE_DATABASE_URL": log_url,
        "TIMELINE_DATA_DIR": str(data_dir),
        "TIMELINE_PORT": port,
        "TIMELINE_POOL_SIZE": "2",
    }
    assert main_in(env, ["demo", "load"]) == 0
    proc = _serve(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        _until_up(base)
        key_file = data_dir / "log.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        asyncio.run(until_signed(base, 10, within=30))
        with urllib.request.urlopen(f"{base}/v1/log/checkpoint", timeout=5) as answer:
            note = answer.read().decode()
        with urllib.request.urlopen(f"{base}/v1/log/key", timeout=5) as answer:
            vkey = answer.read().decode().strip()
        assert open_note(note, Verifier.parse(vkey))
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert vkey in err.decode()  # the operator is told the verifier key once


def test_a_configured_key_that_is_missing_is_never_made(log_url: str, tmp_path: Path) -> None:
    """A key file named by TIMELINE_LOG_KEY_FILE that is not there is the operator's to
    restore: serve makes none (a new key would not open the old checkpoints)."""
    missing = tmp_path / "configured" / "log.key"
    port = str(free_port())
    env = dict(
        os.environ,
        TIMELINE_DATABASE_URL=log_url,
        TIMELINE_LOG_KEY_FILE=str(missing),
        TIMELINE_PORT=port,
        TIMELINE_POOL_SIZE="2",
    )
    proc = _serve(env, tmp_path)
    try:
        _until_up(f"http://127.0.0.1:{port}")
        assert not missing.exists()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def main_in(env: dict[str, str], argv: list[str]) -> int:
    timeline = Path(sys.executable).with_name("timeline")
    return subprocess.run([str(timeline), *argv], env=env, capture_output=True).returncode
