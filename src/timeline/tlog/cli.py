"""The `timeline log` and `timeline verify` commands."""

from __future__ import annotations

import sys
from pathlib import Path

from timeline.config import Settings
from timeline.store import log as store
from timeline.store.db import CLI_TIMEOUTS, connect_dedicated
from timeline.tlog.note import NoteError, Signer, Verifier, read_key_file, write_key_file
from timeline.tlog.sequencer import LogInconsistent, integrate
from timeline.tlog.verify import http_fetch, verify_export


def key_create(settings: Settings) -> int:
    """Make the signer key file (0600) and print the verifier key on stdout."""
    signer = Signer.generate(settings.log_origin)
    try:
        write_key_file(settings.log_key_file, signer)
    except FileExistsError:
        print(f"timeline: {settings.log_key_file} exists; not replacing a log key", file=sys.stderr)
        return 1
    print(f"timeline: log key written to {settings.log_key_file} (0600)", file=sys.stderr)
    print(signer.verifier().text())
    return 0


def first_key(settings: Settings) -> None:
    """On a first `timeline serve` with the default key path and no key there, make the key,
    so a new install signs checkpoints at once; say where it is and what verifies it.

    A key file named by TIMELINE_LOG_KEY_FILE is never made here: a configured key that is
    missing is the operator's to restore (a new key would not verify the old checkpoints)."""
    if not settings.log_sequencer or settings.log_key_file.exists():
        return
    signer = Signer.generate(settings.log_origin)
    try:
        write_key_file(settings.log_key_file, signer)
    except FileExistsError:
        return  # another process made it first
    except OSError as error:
        print(f"timeline: no log key made ({error}); checkpoints go unsigned", file=sys.stderr)
        return
    print(
        f"timeline: made the log's signer key {settings.log_key_file} (0600; back it up);"
        f" its verifier key: {signer.verifier().text()}",
        file=sys.stderr,
    )


async def cli_integrate(url: str, settings: Settings) -> int:
    try:
        signer = read_key_file(settings.log_key_file)
    except NoteError as error:
        print(f"timeline: {error}", file=sys.stderr)
        return 2
    conn = await connect_dedicated(url, application="timeline-log", timeouts=CLI_TIMEOUTS)
    try:
        result = await integrate(conn, signer, settings.log_origin)
    except LogInconsistent as error:
        print(f"timeline: {error}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    print(f"timeline: tree size {result.size}, {result.added} leaves added", file=sys.stderr)
    return 0


async def cli_status(url: str) -> int:
    conn = await connect_dedicated(url, application="timeline-log", timeouts=CLI_TIMEOUTS)
    try:
        size = await store.tree_size(conn)
        latest = await store.latest_checkpoint(conn)
        waiting, age = await store.unintegrated(conn)
        signed_at = await conn.fetchval("SELECT max(signed_at) FROM log_checkpoints")
    finally:
        await conn.close()
    print(f"tree size: {size}")
    if latest is None:
        print("latest checkpoint: none signed")
    else:
        print(f"latest checkpoint: size {latest.size}, signed {signed_at.isoformat()}")
    lag = "none" if age is None else f"{waiting} events, the oldest recorded {age:.1f} s ago"
    print(f"integration lag: {lag}")
    return 0


def _text_or_file(value: str) -> str:
    path = Path(value)
    return path.read_text() if path.is_file() else value


def cli_verify(export: str, checkpoint: str, key: str, url: str | None) -> int:
    try:
        verifier = Verifier.parse(_text_or_file(key))
        note = Path(checkpoint).read_text()
    except (NoteError, OSError) as error:
        print(f"timeline: {error}", file=sys.stderr)
        return 2
    fetch = http_fetch(url) if url else None
    with open(export, "rb") if export != "-" else sys.stdin.buffer as lines:
        report = verify_export(lines, note, verifier, fetch)
    for line in report.lines:
        print(line)
    print("VERIFIED" if report.ok else "NOT VERIFIED")
    return 0 if report.ok else 1
