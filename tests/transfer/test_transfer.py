"""Export and import: the log round-trips exactly, bad input writes nothing, states parse back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geojson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.feed.listening import wake_ups, woken
from tests.transfer.synthetic import synthetic_log
from timeline.demo import read_seed
from timeline.store.restore import RestoreConflict
from timeline.transfer import cli_export, cli_import
from timeline.transfer.export import export_log
from timeline.transfer.importer import import_events
from timeline.transfer.ndjson import BadLine

SEED = read_seed()
SLUG = SEED.timeline.slug
LOG_FIELDS = [
    "stream_type",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "data",
    "metadata",
    "timeline",
    "reported_at",
    "recorded_at",
    "log_index",
]


async def _log(engine: AsyncEngine) -> bytes:
    return b"".join([line async for line in export_log(engine)])


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM events")) or 0)


async def _export(url: str, fmt: str, tmp_path: Path, known_at: str | None = None) -> bytes:
    out = tmp_path / f"export.{fmt}"
    status = await cli_export(url, fmt=fmt, timeline=SLUG, known_at=known_at, output=str(out))
    assert status == 0
    return out.read_bytes()


async def test_the_log_is_one_event_a_line_without_store_cursors(source: AsyncEngine) -> None:
    lines = (await _log(source)).splitlines()
    assert len(lines) == 1 + 2 + 32 + 1
    for line in lines:
        assert list(json.loads(line)) == LOG_FIELDS


async def test_export_restore_export_gives_identical_output(
    source: AsyncEngine, empty: AsyncEngine, source_url: str, empty_url: str, tmp_path: Path
) -> None:
    log = await _log(source)
    report = await import_events(empty, io.BytesIO(log), keep_clocks=True)
    assert (report.lines, report.written, report.kept_clocks) == (36, 36, True)
    assert await _log(empty) == log
    for fmt in ("csv", "timelinejs", "geojson"):
        assert await _export(empty_url, fmt, tmp_path) == await _export(source_url, fmt, tmp_path)


async def test_export_import_export_keeps_content_with_this_stores_clock_and_name(
    source: AsyncEngine, empty: AsyncEngine, empty_url: str, source_url: str, tmp_path: Path
) -> None:
    log = await _log(source)
    report = await import_events(empty, io.BytesIO(log), actor="importer")
    assert (report.lines, report.written, report.kept_clocks) == (36, 36, False)
    before, after = (
        [json.loads(x) for x in log.splitlines()],
        [json.loads(x) for x in (await _log(empty)).splitlines()],
    )
    for old, new in zip(before, after, strict=True):
        assert new["recorded_at"] > old["recorded_at"]
        assert new["metadata"] == {"actor": "importer"}
        for field in ("recorded_at", "metadata"):
            old.pop(field), new.pop(field)
        assert new == old
    # csv carries recorded_at, which is now this store's; the others do not.
    for fmt in ("timelinejs", "geojson"):
        assert await _export(empty_url, fmt, tmp_path) == await _export(source_url, fmt, tmp_path)


async def test_a_second_import_of_the_same_file_writes_nothing(
    source: AsyncEngine, target: AsyncEngine
) -> None:
    log = await _log(source)
    await import_events(target, io.BytesIO(log))
    before = await _count(target)
    again = await import_events(target, io.BytesIO(log))
    assert (again.written, again.skipped) == (0, 36)
    assert await _count(target) == before


async def test_a_bad_line_stops_the_import_and_nothing_is_written(
    target_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(synthetic_log(20, slug="bad-line"))
    broken = json.loads(lines[7])  # line 8: the second assertion
    broken["data"]["occurred"] = "the day after"
    lines[7] = json.dumps(broken).encode() + b"\n"
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"".join(lines))
    assert await cli_import(target_url, str(path)) == 1
    assert "line 8: data.occurred:" in capsys.readouterr().err
    async with AsyncEngineOf(target_url) as engine, engine.connect() as conn:
        held = await conn.scalar(text("SELECT count(*) FROM events WHERE timeline = 'bad-line'"))
    assert held == 0
    lines[7] = next(line for i, line in enumerate(synthetic_log(20, slug="bad-line")) if i == 7)
    path.write_bytes(b"".join(lines))
    assert await cli_import(target_url, str(path)) == 0


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda line: b"{not json" + line, "not JSON"),
        (lambda line: line.replace(b'"version":1', b'"version":0', 1), "version"),
        (lambda line: line.replace(b'"type":"', b'"type":"Nope', 1), "unknown event type"),
    ],
)
async def test_bad_lines_are_named_with_their_reason(
    source: AsyncEngine, target: AsyncEngine, damage: object, reason: str
) -> None:
    lines = (await _log(source)).splitlines(keepends=True)
    lines[7] = damage(lines[7])  # type: ignore[operator]
    with pytest.raises(BadLine, match=f"line 8: .*{reason}"):
        await import_events(target, io.BytesIO(b"".join(lines)))


async def test_an_event_conflicting_with_the_store_is_refused(
    source: AsyncEngine, target: AsyncEngine
) -> None:
    log = await _log(source)
    await import_events(target, io.BytesIO(log))
    before = await _count(target)
    lines = log.splitlines(keepends=True)
    changed = json.loads(lines[10])
    changed["data"]["summary"] = "Something else entirely."
    lines[10] = json.dumps(changed).encode() + b"\n"
    with pytest.raises(RestoreConflict, match=r"line 11: .*holds a different event"):
        await import_events(target, io.BytesIO(b"".join(lines)))
    assert await _count(target) == before


async def test_a_version_that_follows_nothing_is_refused(
    source: AsyncEngine, target: AsyncEngine
) -> None:
    lines = [json.loads(line) for line in (await _log(source)).splitlines()]
    line = next(line for line in lines if line["type"] == "StanceRecorded")  # version 2
    line["stream_id"] = line["data"]["assertion_id"] = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(RestoreConflict, match=r"line 1: .*follows no version 1"):
        await import_events(target, io.BytesIO(json.dumps(line).encode()))


async def test_csv_export_parses_back_one_row_per_assertion(
    source: AsyncEngine, source_url: str, tmp_path: Path
) -> None:
    rows = list(csv.DictReader(io.StringIO((await _export(source_url, "csv", tmp_path)).decode())))
    assert len(rows) == 32
    by_id = {r["id"]: r for r in rows}
    tartar = by_id[SEED.assertion_id("azerbaijan-mod-tartar-agdam")]
    assert tartar["status"] == "contested"
    assert tartar["claimant"] == "Azerbaijani Ministry of Defense"
    assert json.loads(tartar["stances"])[0]["stance"] == "denies"
    killed = json.loads(by_id[SEED.assertion_id("casualties-since-september-27")]["quantities"])
    assert killed[0] == {
        "measure": "killed",
        "low": 300,
        "high": None,
        "approximate": False,
        "qualifier": "More than 300 people",
        "best": None,
    }
    assert [r["occurred_start"] for r in rows] == sorted(r["occurred_start"] for r in rows)


async def test_timelinejs_export_has_the_fields_timelinejs_requires(
    source: AsyncEngine, source_url: str, tmp_path: Path
) -> None:
    doc = json.loads(await _export(source_url, "timelinejs", tmp_path))
    assert doc["title"]["text"]["headline"] == SEED.timeline.title
    # the 1988-1994 backstory is told on the title slide, not squashing 2020 on the scale
    assert len(doc["events"]) == 30
    assert "1988 – 1994" in doc["title"]["text"]["text"]
    assert {e["group"] for e in doc["events"]} <= {
        "Battles",
        "Explosions/Remote violence",
        "Violence against civilians",
        "Strategic developments",
        "Talks and agreements",
        "Statements and claims",
        "Casualty figures",
    }
    for event in doc["events"]:
        assert isinstance(event["start_date"]["year"], int)
        assert event["text"]["headline"]
        assert event["group"]
        for part in ("start_date", "end_date"):
            for value in event.get(part, {}).values():
                assert isinstance(value, int)
    by_id = {e["unique_id"]: e for e in doc["events"]}
    assert SEED.assertion_id("war-1988-1994") not in by_id
    shusha = by_id[SEED.assertion_id("shusha-cathedral-shelled")]
    assert shusha["start_date"] == {"year": 2020, "month": 10, "day": 8}
    assert "end_date" not in shusha
    assert shusha["display_date"] == "8 October 2020"
    assert shusha["text"]["headline"] != "Shelling"
    ganja = by_id[SEED.assertion_id("ganja-goranboy-shelled")]
    assert ganja["display_date"] == "about 8 October 2020"
    (era,) = doc["eras"]
    assert era["start_date"] == {"year": 2020, "month": 9, "day": 27}


async def test_geojson_export_is_valid_points_for_placed_assertions(
    source: AsyncEngine, source_url: str, tmp_path: Path
) -> None:
    collection = geojson.loads((await _export(source_url, "geojson", tmp_path)).decode())
    assert collection.is_valid
    placed = [a for a in SEED.assertions if a.place is not None and a.place.lat is not None]
    assert len(collection["features"]) == len(placed)
    for feature in collection["features"]:
        assert feature["geometry"]["type"] == "Point"
    stepanakert = next(
        f
        for f in collection["features"]
        if f["id"] == SEED.assertion_id("stepanakert-missile-strikes")
    )
    assert stepanakert["geometry"]["coordinates"] == [46.7519, 39.8153]


async def test_state_exports_follow_the_knowledge_date(
    source: AsyncEngine, source_url: str, tmp_path: Path
) -> None:
    before = geojson.loads((await _export(source_url, "geojson", tmp_path, "2020-10-01")).decode())
    after = geojson.loads((await _export(source_url, "geojson", tmp_path, "2020-10-11")).decode())
    assert before["features"] == []
    assert len(after["features"]) > 0


class AsyncEngineOf:
    """An engine on `url`, disposed on exit."""

    def __init__(self, url: str) -> None:
        from timeline.store.db import create_engine

        self.engine = create_engine(url, pool_size=1)

    async def __aenter__(self) -> AsyncEngine:
        return self.engine

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.dispose()


async def test_import_wakes_live_feed_readers_once_it_has_written(
    target_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "woken.ndjson"
    path.write_bytes(b"".join(synthetic_log(6, slug="woken")))
    async with wake_ups(target_url) as queue:
        assert await cli_import(target_url, str(path)) == 0
        assert await woken(queue), "import wrote events but woke no reader"
        assert await cli_import(target_url, str(path)) == 0  # all present: nothing written
        assert not await woken(queue)
