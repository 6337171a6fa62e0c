"""Moving data in and out: `timeline import`/`restore` of an NDJSON log, `timeline export`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import BinaryIO

import msgspec

from timeline.feed.notify import wake_readers
from timeline.projections.temporal import parse_instant
from timeline.projections.views import AssertionView
from timeline.store.db import create_engine
from timeline.store.restore import RestoreConflict, StoreNotEmpty
from timeline.transfer.export import export_log, source_publishers, timeline_state
from timeline.transfer.formats import to_acled_csv, to_csv, to_geojson, to_timelinejs
from timeline.transfer.importer import ImportReport, import_events
from timeline.transfer.ndjson import BadLine
from timeline.transfer.progress import phases

__all__ = [
    "BadLine",
    "ImportReport",
    "RestoreConflict",
    "cli_export",
    "cli_import",
    "cli_restore",
]

FORMATS = ("ndjson", "csv", "timelinejs", "geojson", "acled")


def _err(message: str) -> None:
    print(f"timeline: {message}", file=sys.stderr)


@contextmanager
def _open_input(file: str) -> Iterator[tuple[BinaryIO, int | None]]:
    if file == "-":
        yield sys.stdin.buffer, None
        return
    with open(file, "rb") as stream:
        yield stream, os.fstat(stream.fileno()).st_size


async def cli_import(url: str, file: str, *, keep_clocks: bool = False) -> int:
    """`timeline import FILE`: 0 when appended, 1 on a bad line or a conflict (nothing written).

    With `keep_clocks` it is `timeline restore FILE`: into an empty store, with
    the file's recorded_at and metadata.
    """
    verb = "restore" if keep_clocks else "import"
    engine = create_engine(url, pool_size=1, application=f"timeline {verb}")
    try:
        with _open_input(file) as (stream, size), phases() as progress:
            report = await import_events(
                engine,
                stream,
                progress=progress,
                size=size,
                actor=f"timeline {verb}",
                keep_clocks=keep_clocks,
            )
    except OSError as error:
        _err(f"{verb}: {error}")
        return 1
    except (BadLine, RestoreConflict, StoreNotEmpty) as error:
        _err(f"{verb} refused, nothing written: {error}")
        return 1
    finally:
        await engine.dispose()
    if report.written:
        await wake_readers(url)  # committed: live feed readers need not wait for their poll
    clocks = (
        "kept the file's recorded_at and metadata" if keep_clocks else "recorded now, by this store"
    )
    _err(
        f"{verb}: {report.lines} events read, {report.written} written ({clocks}), "
        f"{report.skipped} already present"
    )
    return 0


async def cli_restore(url: str, file: str) -> int:
    """`timeline restore FILE`: a backup into an empty store, keeping its clocks."""
    return await cli_import(url, file, keep_clocks=True)


def parse_known_at(raw: str) -> datetime:
    """An RFC 3339 time, or a plain date meaning its start (UTC), as the API reads them."""
    try:
        return parse_instant(raw)
    except ValueError as error:
        raise ValueError(f"--known-at {raw!r}: {error}") from None


async def _write_state(url: str, fmt: str, slug: str, known_at: datetime | None) -> bytes | None:
    engine = create_engine(url, pool_size=1, application="timeline export")
    try:
        state = await timeline_state(engine, slug, known_at)
    finally:
        await engine.dispose()
    if state is None:
        return None
    page, assertions = state
    if fmt == "csv":
        return to_csv(assertions).encode()
    if fmt == "acled":
        return await _acled_csv(url, assertions)
    document = (
        to_timelinejs(page, assertions) if fmt == "timelinejs" else to_geojson(page, assertions)
    )
    return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"


async def _acled_csv(url: str, assertions: list[AssertionView]) -> bytes:
    """ACLED's columns, one row per assertion, with the cited sources' publishers by name."""
    engine = create_engine(url, pool_size=1, application="timeline export")
    try:
        cited = {c.source_id for a in assertions for c in a.citations}
        async with engine.connect() as conn:
            publishers = await source_publishers(conn, cited)
    finally:
        await engine.dispose()
    return to_acled_csv(assertions, publishers).encode()


@contextmanager
def _open_output(output: str | None) -> Iterator[BinaryIO]:
    if output is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with open(output, "wb") as stream:
        yield stream


async def _export_log(url: str, timeline: str | None, output: str | None) -> int:
    engine = create_engine(url, pool_size=1, application="timeline export")
    try:
        with _open_output(output) as out:
            async for line in export_log(engine, timeline):
                out.write(line)
    finally:
        await engine.dispose()
    return 0


async def cli_export(
    url: str, *, fmt: str, timeline: str | None, known_at: str | None, output: str | None
) -> int:
    """`timeline export`: write the log (ndjson) or a timeline's state to `output` or stdout."""
    if fmt not in FORMATS:
        _err(f"export: --format must be one of {', '.join(FORMATS)}")
        return 2
    if fmt == "ndjson":
        if known_at is not None:
            _err("export: ndjson is the whole log; --known-at is for the state formats")
            return 2
        return await _export_log(url, timeline, output)
    if timeline is None:
        _err(f"export: --format {fmt} needs --timeline SLUG")
        return 2
    try:
        when = parse_known_at(known_at) if known_at else None
    except ValueError as error:
        _err(f"export: {error}")
        return 2
    body = await _write_state(url, fmt, timeline, when)
    if body is None:
        _err(f"export: no timeline {timeline!r}")
        return 1
    with _open_output(output) as out:
        out.write(body)
    return 0
