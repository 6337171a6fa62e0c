"""`timeline import` trusts nothing in its file: clocks and names are this store's, rules hold.

Each case builds a file from the demo's export, breaks one thing, and checks the
refusal names the line and the reason, and that nothing was written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.transfer import cli_import, cli_restore
from timeline.transfer.export import export_log

Line = dict[str, Any]


async def _lines(engine: AsyncEngine) -> list[Line]:
    return [json.loads(line) async for line in export_log(engine)]


def _write(path: Path, lines: list[Line]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)


def _first(lines: list[Line], event_type: str) -> int:
    return next(i for i, line in enumerate(lines) if line["type"] == event_type)


async def test_import_records_the_events_now_under_the_importers_name(
    source: AsyncEngine, empty: AsyncEngine, empty_url: str, tmp_path: Path
) -> None:
    lines = await _lines(source)
    for line in lines:
        line["recorded_at"] = "2000-01-01T00:00:00Z"
        line["metadata"] = {"actor": "key:forged", "request_id": "forged"}
    started = datetime.now(UTC)
    assert await cli_import(empty_url, _write(tmp_path / "log.ndjson", lines)) == 0
    async with empty.connect() as conn:
        rows = (await conn.execute(text("SELECT metadata, recorded_at FROM events"))).all()
    assert len(rows) == len(lines)
    assert {json.dumps(r.metadata) for r in rows} == {'{"actor": "timeline import"}'}
    assert min(r.recorded_at for r in rows) >= started.replace(microsecond=0)


async def test_an_import_answers_nothing_at_the_files_old_recorded_at(
    source: AsyncEngine, empty: AsyncEngine, empty_url: str, tmp_path: Path
) -> None:
    """The attack of issue 11.7: a 2000-01-01 recorded_at must not show at 2001-01-01."""
    from timeline.projections.temporal import Temporal
    from timeline.projections.timelines import get_timeline

    lines = await _lines(source)
    for line in lines:
        line["recorded_at"] = "2000-01-01T00:00:00Z"
    assert await cli_import(empty_url, _write(tmp_path / "log.ndjson", lines)) == 0
    async with empty.connect() as conn:
        then = Temporal(recorded_at=datetime(2001, 1, 1, tzinfo=UTC))
        page = await get_timeline(conn, lines[0]["stream_id"], then)
    assert page is None or page.assertions == []


async def test_restore_keeps_the_files_clocks_and_names_and_says_so(
    source: AsyncEngine,
    empty: AsyncEngine,
    empty_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = await _lines(source)
    assert await cli_restore(empty_url, _write(tmp_path / "log.ndjson", lines)) == 0
    assert "kept the file's recorded_at and metadata" in capsys.readouterr().err
    assert await _lines(empty) == lines


async def test_restore_into_a_store_that_holds_events_is_refused(
    source: AsyncEngine, target_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = await _lines(source)
    path = _write(tmp_path / "log.ndjson", lines)
    assert await cli_import(target_url, path) in (0, 1)  # the target holds events now
    assert await cli_restore(target_url, path) == 1
    assert "needs an empty store" in capsys.readouterr().err


async def test_restore_refuses_recorded_at_going_backwards(
    source: AsyncEngine,
    empty: AsyncEngine,
    empty_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = await _lines(source)
    lines[5]["recorded_at"] = "2000-01-01T00:00:00Z"
    assert await cli_restore(empty_url, _write(tmp_path / "log.ndjson", lines)) == 1
    assert "line 6: recorded_at: earlier than the line before's" in capsys.readouterr().err
    assert await _count(empty) == 0


def _orphan_assertion(lines: list[Line]) -> list[Line]:
    """Only the assertions: their timeline and sources are nowhere."""
    i = _first(lines, "AssertionRecorded")
    return lines[i : i + 1]


def _unknown_source(lines: list[Line]) -> list[Line]:
    i = _first(lines, "AssertionRecorded")
    lines[i]["data"]["citations"][0]["source_id"] = "00000000-0000-0000-0000-00000000dead"
    return lines[: i + 1]


def _revised_after_retraction(lines: list[Line]) -> list[Line]:
    i = _first(lines, "AssertionRecorded")
    recorded = lines[i]
    aid, at = recorded["stream_id"], recorded["reported_at"]
    base = {k: recorded[k] for k in ("stream_type", "stream_id", "timeline", "metadata")}
    retracted = {
        **base,
        "version": 2,
        "type": "AssertionRetracted",
        "schema_version": 1,
        "data": {
            "type": "AssertionRetracted",
            "assertion_id": aid,
            "reason": "wrong",
            "citations": [],
            "reported_at": at,
        },
        "reported_at": at,
        "recorded_at": recorded["recorded_at"],
    }
    revised = {
        **retracted,
        "version": 3,
        "type": "AssertionRevised",
        "data": {
            "type": "AssertionRevised",
            "assertion_id": aid,
            "summary": "Changed.",
            "reason": "",
            "citations": [],
            "reported_at": at,
        },
    }
    return [*lines[: i + 1], retracted, revised]


def _reported_before_first(lines: list[Line]) -> list[Line]:
    i = _first(lines, "StanceRecorded")
    lines[i]["reported_at"] = lines[i]["data"]["reported_at"] = "2019-01-01T00:00:00Z"
    return lines


def _other_timeline(lines: list[Line]) -> list[Line]:
    i = _first(lines, "StanceRecorded")
    lines[i]["timeline"] = "elsewhere"
    return lines


def _version_two_opens(lines: list[Line]) -> list[Line]:
    i = _first(lines, "StanceRecorded")
    lines[i]["version"] = 1
    return lines


def _huge_version(lines: list[Line]) -> list[Line]:
    lines[3]["version"] = 2**70
    return lines


def _nul_in_data(lines: list[Line]) -> list[Line]:
    i = _first(lines, "AssertionRecorded")
    lines[i]["data"]["summary"] = "before\u0000after"
    return lines


def _nul_in_metadata(lines: list[Line]) -> list[Line]:
    lines[0]["metadata"] = {"actor": "a\u0000b"}
    return lines


def _out_of_range_date(lines: list[Line]) -> list[Line]:
    i = _first(lines, "AssertionRecorded")
    lines[i]["reported_at"] = lines[i]["data"]["reported_at"] = "0001-01-01T00:00:00+14:00"
    return lines


def _far_future(lines: list[Line]) -> list[Line]:
    i = _first(lines, "AssertionRecorded")
    lines[i]["reported_at"] = lines[i]["data"]["reported_at"] = "9999-12-31T23:59:59Z"
    return lines


def _recorded_out_of_range(lines: list[Line]) -> list[Line]:
    lines[2]["recorded_at"] = "9999-12-31T23:59:59-14:00"
    return lines


CASES: list[tuple[Callable[[list[Line]], list[Line]], str]] = [
    (
        _orphan_assertion,
        r"line 1: timeline: assertion \S+ is on timeline nagorno-karabakh-2020, "
        "which neither this store nor an earlier line opens",
    ),
    (
        _unknown_source,
        r"line 4: data.citations: source 00000000-0000-0000-0000-00000000dead is "
        "registered neither",
    ),
    (
        _revised_after_retraction,
        r"line 6: type: assertion \S+ was retracted at version 2; "
        "it cannot be revised",
    ),
    (_reported_before_first, r"line \d+: reported_at: precedes the first report"),
    (_other_timeline, r"line \d+: timeline: elsewhere is not the timeline of assertion"),
    (_version_two_opens, r"line \d+: version: a stream opens with one of AssertionRecorded"),
    (_huge_version, r"line 4: version: must be between 1 and 9223372036854775807"),
    (_nul_in_data, r"line 4: data.summary: holds U\+0000"),
    (_nul_in_metadata, r"line 1: metadata.actor: holds U\+0000"),
    (_out_of_range_date, r"line 4: reported_at: 0001-01-01T00:00:00\+14:00 is outside years"),
    (_far_future, r"line 4: reported_at: 9999-12-31T23:59:59\+00:00 is in the future"),
    (_recorded_out_of_range, r"line 3: recorded_at: .* is outside years 1-9999"),
]


@pytest.mark.parametrize(("damage", "reason"), CASES, ids=[c[0].__name__[1:] for c in CASES])
async def test_a_file_breaking_a_rule_is_refused_by_line_and_nothing_is_written(
    source: AsyncEngine,
    empty: AsyncEngine,
    empty_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[list[Line]], list[Line]],
    reason: str,
) -> None:
    path = _write(tmp_path / "bad.ndjson", damage(await _lines(source)))
    for run in (cli_import, cli_restore):
        assert await run(empty_url, path) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert err.startswith("timeline: ")
        assert "refused, nothing written: " in err
        assert len(err.splitlines()) == 1, err
        assert re.search(reason, err), err
        assert await _count(empty) == 0
