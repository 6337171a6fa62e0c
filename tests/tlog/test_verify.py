"""`timeline verify` and the tamper tests: a changed line, a changed event, a rewritten log."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.sse import append_timeline
from tests.tlog.conftest import ORIGIN, superuser, until_signed
from timeline.cli import main
from timeline.tlog.note import Signer
from timeline.tlog.sequencer import integrate
from timeline.transfer.export import export_log


def write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


async def export_to(engine: AsyncEngine, path: Path) -> list[bytes]:
    lines = [line async for line in export_log(engine)]
    write(path, lines)
    return lines


def verify(
    capsys: pytest.CaptureFixture[str], export: Path, checkpoint: Path, key: str, *url: str
) -> tuple[int, str]:
    args = ["verify", str(export), "--checkpoint", str(checkpoint), "--key", key]
    status = main([*args, *(("--url", url[0]) if url else ())])
    return status, capsys.readouterr().out


@pytest.fixture
async def signed(
    log_engine: AsyncEngine, raw: asyncpg.Connection, signer: Signer, tmp_path: Path
) -> Path:
    """Twelve events integrated and their checkpoint saved, as a reader would keep it."""
    for i in range(3):
        await append_timeline(log_engine, f"v{i}", count=4)
    await integrate(raw, signer, ORIGIN)
    checkpoint = tmp_path / "checkpoint"
    note = await raw.fetchval("SELECT note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1")
    write(checkpoint, [note.encode()])
    return checkpoint


async def test_an_untouched_export_verifies_offline(
    capsys: pytest.CaptureFixture[str],
    log_engine: AsyncEngine,
    signed: Path,
    signer: Signer,
    tmp_path: Path,
) -> None:
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    key = tmp_path / "key.txt"
    write(key, [signer.verifier().text().encode() + b"\n"])
    status, out = verify(capsys, export, signed, str(key))  # the key from a file
    assert (status, out.splitlines()[-1]) == (0, "VERIFIED")
    assert "lines 1 to 12 are the signed tree" in out


async def test_another_key_does_not_open_the_checkpoint(
    capsys: pytest.CaptureFixture[str], log_engine: AsyncEngine, signed: Path, tmp_path: Path
) -> None:
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    other = Signer.generate(ORIGIN).verifier().text()
    status, out = verify(capsys, export, signed, other)
    assert status == 1
    assert "does not open with this key" in out


async def test_one_changed_byte_is_found_and_named_by_its_line(
    capsys: pytest.CaptureFixture[str],
    log_engine: AsyncEngine,
    signed: Path,
    signer: Signer,
    tmp_path: Path,
    server: str,
) -> None:
    export = tmp_path / "log.ndjson"
    lines = await export_to(log_engine, export)
    changed = lines[6].replace(b'"title": "', b'"title": "X', 1)
    assert changed != lines[6]
    lines[6] = changed
    write(export, lines)
    vkey = signer.verifier().text()
    status, out = verify(capsys, export, signed, vkey)
    assert status == 1
    assert "not a prefix of the signed tree" in out
    status, out = verify(capsys, export, signed, vkey, server)
    assert status == 1
    assert "line 7 (log_index 6) differs from the signed tree's leaf" in out


async def test_an_event_changed_in_the_database_is_found_by_its_line(
    capsys: pytest.CaptureFixture[str],
    log_engine: AsyncEngine,
    raw: asyncpg.Connection,
    signed: Path,
    signer: Signer,
    tmp_path: Path,
    server: str,
) -> None:
    await superuser(
        raw,
        "events",
        "UPDATE events SET data = jsonb_set(data, '{title}', '\"forged\"') "
        "WHERE position = (SELECT position FROM log_leaves WHERE leaf_index = 9)",
    )
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    status, out = verify(capsys, export, signed, signer.verifier().text(), server)
    assert status == 1
    assert "line 10 (log_index 9) differs" in out


async def test_a_history_rewritten_and_signed_again_with_the_same_key_is_caught(
    capsys: pytest.CaptureFixture[str],
    log_engine: AsyncEngine,
    raw: asyncpg.Connection,
    signed: Path,
    signer: Signer,
    tmp_path: Path,
    server: str,
) -> None:
    # The operator rewrites an event, wipes the log and has the same key sign it afresh.
    await superuser(
        raw,
        "events",
        "UPDATE events SET data = jsonb_set(data, '{title}', '\"forged\"') "
        "WHERE position = (SELECT position FROM log_leaves WHERE leaf_index = 2)",
    )
    for table in ("log_checkpoints", "log_nodes", "log_leaves"):
        await superuser(raw, table, f"TRUNCATE {table}")
    await append_timeline(log_engine, "later", count=2)
    await until_signed(server, 14)  # the served sequencer signs the rewritten tree
    export = tmp_path / "log.ndjson"
    await export_to(log_engine, export)
    vkey = signer.verifier().text()
    status, out = verify(capsys, export, signed, vkey)
    assert status == 1
    assert "not a prefix of the signed tree" in out
    status, out = verify(capsys, export, signed, vkey, server)
    assert status == 1
    assert "no longer serves the tree it signed" in out
    assert "latest checkpoint (size 14) does NOT extend this one" in out


async def test_a_shorter_export_is_proved_a_prefix_with_the_log_and_refused_without(
    capsys: pytest.CaptureFixture[str],
    log_engine: AsyncEngine,
    signed: Path,
    signer: Signer,
    tmp_path: Path,
    server: str,
) -> None:
    export = tmp_path / "log.ndjson"
    lines = await export_to(log_engine, export)
    write(export, lines[:5])
    vkey = signer.verifier().text()
    status, out = verify(capsys, export, signed, vkey)
    assert status == 1
    assert "give --url" in out
    await append_timeline(log_engine, "newer", count=3)
    await until_signed(server, 15)
    status, out = verify(capsys, export, signed, vkey, server)
    assert status == 0, out
    assert "a prefix of the signed tree" in out
    assert "latest checkpoint (size 15) extends this one" in out


async def test_lines_out_of_log_order_are_refused(
    capsys: pytest.CaptureFixture[str],
    log_engine: AsyncEngine,
    signed: Path,
    signer: Signer,
    tmp_path: Path,
) -> None:
    export = tmp_path / "log.ndjson"
    lines = await export_to(log_engine, export)
    lines[3], lines[4] = lines[4], lines[3]
    write(export, lines)
    status, out = verify(capsys, export, signed, signer.verifier().text())
    assert status == 1
    assert "line 4: log_index 4 where leaf 3 comes next" in out
    assert json.loads(lines[3])["log_index"] == 4
