"""Go's own sumdb/note and sumdb/tlog check this log: signatures, inclusion, consistency.

The Go program (tests/tlog/interop/main.go) is built offline against Debian's
golang-go and golang-golang-x-mod-dev, which `.ci/run` installs; without them
these tests skip, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline
from tests.tlog.conftest import superuser, until_signed
from timeline.tlog.note import Signer
from timeline.transfer.export import export_log

GOPATH = Path("/usr/share/gocode")
SOURCE = Path(__file__).parent / "interop"


@pytest.fixture(scope="session")
def interop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir():
        pytest.skip("Go interop needs golang-go and golang-golang-x-mod-dev (apt; .ci/run)")
    out = tmp_path_factory.mktemp("interop")
    env = dict(
        os.environ,
        GOPATH=str(GOPATH),
        GO111MODULE="off",
        GOCACHE=str(out / "cache"),
    )
    binary = out / "interop"
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=SOURCE, env=env, check=True)
    return binary


def write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


async def export_to(engine: AsyncEngine, path: Path) -> list[bytes]:
    lines = [line async for line in export_log(engine)]
    write(path, lines)
    return lines


def run_go(binary: Path, url: str, signer: Signer, *files: Path) -> tuple[int, str]:
    args = [str(binary), url, signer.verifier().text(), *map(str, files)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def fetch_checkpoint(raw_note: str, path: Path) -> Path:
    path.write_text(raw_note)
    return path


@pytest.fixture
async def yesterday(
    log_engine: AsyncEngine, raw: asyncpg.Connection, server: str, tmp_path: Path
) -> Path:
    """A checkpoint of 6 events kept by a reader, then 9 more events signed since."""
    await append_timeline(log_engine, "yesterday", count=6)
    await until_signed(server, 6)
    note = await raw.fetchval("SELECT note FROM log_checkpoints WHERE tree_size = 6")
    kept = fetch_checkpoint(note, tmp_path / "yesterday")
    for i in range(3):
        await append_timeline(log_engine, f"today{i}", count=3)
    await until_signed(server, 15)
    return kept


async def test_go_opens_the_checkpoint_and_checks_every_line_and_the_extension(
    interop: Path,
    log_engine: AsyncEngine,
    server: str,
    signer: Signer,
    yesterday: Path,
    tmp_path: Path,
) -> None:
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    status, out = run_go(interop, server, signer, export, yesterday)
    assert status == 0, out
    assert "OK note.Open timeline.test/log size 15" in out
    assert "OK tlog.CheckRecord 15 lines" in out
    assert "OK tlog.CheckTree 6 -> 15" in out


async def test_go_rejects_another_key(
    interop: Path, log_engine: AsyncEngine, server: str, yesterday: Path, tmp_path: Path
) -> None:
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    status, out = run_go(interop, server, Signer.generate("timeline.test/log"), export)
    assert status == 1
    assert "FAIL note.Open" in out


async def test_go_finds_a_changed_byte_in_an_export(
    interop: Path,
    log_engine: AsyncEngine,
    server: str,
    signer: Signer,
    yesterday: Path,
    tmp_path: Path,
) -> None:
    export = tmp_path / "log.ndjson"
    lines = await export_to(log_engine, export)
    changed = lines[4].replace(b'"title": "', b'"title": "X', 1)
    assert changed != lines[4]
    lines[4] = changed
    write(export, lines)
    status, out = run_go(interop, server, signer, export)
    assert status == 1
    assert "FAIL tlog.CheckRecord line 5 (log_index 4)" in out


async def test_go_finds_an_event_changed_in_the_database(
    interop: Path,
    log_engine: AsyncEngine,
    raw: asyncpg.Connection,
    server: str,
    signer: Signer,
    yesterday: Path,
    tmp_path: Path,
) -> None:
    await superuser(
        raw,
        "events",
        "UPDATE events SET data = jsonb_set(data, '{title}', '\"forged\"') "
        "WHERE position = (SELECT position FROM log_leaves WHERE leaf_index = 11)",
    )
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    status, out = run_go(interop, server, signer, export)
    assert status == 1
    assert "FAIL tlog.CheckRecord line 12 (log_index 11)" in out


async def test_go_refuses_a_rewritten_history_signed_again_with_the_same_key(
    interop: Path,
    log_engine: AsyncEngine,
    raw: asyncpg.Connection,
    server: str,
    signer: Signer,
    yesterday: Path,
    tmp_path: Path,
) -> None:
    await superuser(
        raw,
        "events",
        "UPDATE events SET data = jsonb_set(data, '{title}', '\"forged\"') "
        "WHERE position = (SELECT position FROM log_leaves WHERE leaf_index = 1)",
    )
    for table in ("log_checkpoints", "log_nodes", "log_leaves"):
        await superuser(raw, table, f"TRUNCATE {table}")
    await append_timeline(log_engine, "after", count=2)
    await until_signed(server, 17)
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    status, out = run_go(interop, server, signer, export, yesterday)
    assert status == 1
    assert "OK tlog.CheckRecord 17 lines" in out  # the forged tree is well formed...
    assert "FAIL tlog.CheckTree 6 -> 17" in out  # ...but it does not extend yesterday's
