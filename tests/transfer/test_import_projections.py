"""An NDJSON import into a store that holds part of the log projects as a rebuild would."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.projections.snapshot import snapshot
from tests.transfer.synthetic import BASE, STANCES_PER_ASSERTION, _line, synthetic_log
from timeline.domain.events import AssertionRevised
from timeline.projections.rebuild import rebuild
from timeline.transfer.export import export_log
from timeline.transfer.importer import import_events


async def _log(engine: AsyncEngine) -> bytes:
    return b"".join([line async for line in export_log(engine)])


def _streams(lines: list[bytes]) -> dict[tuple[str, str], set[int]]:
    found: dict[tuple[str, str], set[int]] = {}
    for line in lines:
        row = json.loads(line)
        found.setdefault((row["stream_type"], row["stream_id"]), set()).add(row["version"])
    return found


async def _import_in_two_parts(engine: AsyncEngine, log: bytes, cut: int, batch: int) -> None:
    """Import the log's first `cut` lines, then the whole log (its rest written afresh)."""
    lines = log.splitlines(keepends=True)
    first, rest = _streams(lines[:cut]), _streams(lines[cut:])
    extended = [s for s in rest if s in first and s[0] == "assertion"]
    opened = [s for s in rest if s not in first and s[0] == "assertion"]
    assert extended, "the cut must leave streams to extend"
    assert opened, "the cut must leave streams to open"
    part = await import_events(engine, io.BytesIO(b"".join(lines[:cut])), batch=batch)
    assert part.written == cut
    whole = await import_events(engine, io.BytesIO(log), batch=batch)
    assert (whole.written, whole.skipped) == (len(lines) - cut, cut)


async def test_an_import_extending_streams_the_store_holds_projects_as_a_rebuild(
    source: AsyncEngine, empty: AsyncEngine
) -> None:
    log = await _log(source)  # the demo: line 23 is the second version of line 22's stream
    await _import_in_two_parts(empty, log, cut=23, batch=7)
    imported = await snapshot(empty)
    assert imported["assertions"]
    assert imported["revisions"]
    await rebuild(empty, batch_size=7)
    assert await snapshot(empty) == imported


async def test_an_import_of_a_log_cut_inside_streams_projects_as_a_rebuild(
    empty: AsyncEngine,
) -> None:
    slug = "two-parts"
    lines = list(synthetic_log(300, slug=slug))
    # Revisions reported between each of the first assertions' recording and its stances:
    # they slot in before the stances in knowledge order, so the rows after them are cut
    # and made afresh (rows the first part wrote, for streams it holds whole).
    for n in range(0, 40, 3):
        assertion_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic/{slug}/{n}"))
        revised = AssertionRevised(
            assertion_id=assertion_id,
            summary=f"Synthetic shelling number {n}, revised",
            reason="a later count",
            reported_at=BASE + timedelta(minutes=n, seconds=30),
        )
        lines.append(_line(revised, assertion_id, 2 + STANCES_PER_ASSERTION, slug, len(lines)))
    log = b"".join(lines)
    await _import_in_two_parts(empty, log, cut=123, batch=50)
    imported = await snapshot(empty)
    assert len(imported["assertions"]) == 60
    await rebuild(empty, batch_size=50)
    assert await snapshot(empty) == imported
