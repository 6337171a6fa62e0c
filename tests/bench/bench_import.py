"""`timeline import` events/s against a raw COPY of the same rows into a plain table."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import asyncpg
import msgspec

from tests.bench.harness import Bench
from tests.transfer.synthetic import synthetic_log
from timeline.store.db import asyncpg_dsn, create_engine
from timeline.transfer.importer import import_events
from timeline.transfer.ndjson import LogLine

EVENTS = int(os.environ.get("TIMELINE_BENCH_IMPORT_EVENTS", "50000"))
# the projections' apply costs ~1 ms an event: keep the run short
PROJECTED_EVENTS = EVENTS // 10

_PLAIN = """
CREATE TABLE plain_events (
  stream_type text, stream_id text, version bigint, type text, schema_version smallint,
  data jsonb, metadata jsonb, timeline text, reported_at timestamptz, recorded_at timestamptz)
"""


def _write(path: Path, events: int, slug: str) -> None:
    with path.open("wb") as out:
        out.writelines(synthetic_log(events, slug=slug))


async def _raw_copy(url: str, path: Path) -> float:
    """Rows decoded without checks and COPY'd, in chunks, into a table without indexes."""
    decoder = msgspec.json.Decoder(LogLine)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(_PLAIN)
        start = time.perf_counter()
        count = 0
        chunk: list[tuple[object, ...]] = []
        with path.open("rb") as stream:
            for raw in stream:
                line = decoder.decode(raw)
                chunk.append(
                    (
                        line.stream_type,
                        line.stream_id,
                        line.version,
                        line.type,
                        line.schema_version,
                        bytes(line.data).decode(),
                        bytes(line.metadata).decode(),
                        line.timeline,
                        line.reported_at,
                        line.recorded_at,
                    )
                )
                if len(chunk) == 5000:
                    await conn.copy_records_to_table("plain_events", records=chunk)
                    count += len(chunk)
                    chunk.clear()
        await conn.copy_records_to_table("plain_events", records=chunk)
        count += len(chunk)
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE plain_events")
    finally:
        await conn.close()
    return count / elapsed


async def _import(url: str, path: Path, *, project: bool) -> tuple[float, int]:
    engine = create_engine(url, pool_size=1)
    try:
        start = time.perf_counter()
        with path.open("rb") as stream:
            report = await import_events(engine, stream, project=project)
        return report.lines / (time.perf_counter() - start), report.written
    finally:
        await engine.dispose()


async def run(bench: Bench, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.ndjson"
        small = Path(tmp) / "small.ndjson"
        _write(big, EVENTS, "bench-import")
        _write(small, PROJECTED_EVENTS, "bench-import-projected")
        baseline = await _raw_copy(database_url, big)
        rate, written = await _import(database_url, big, project=False)
        assert written == EVENTS
        bench.record(
            f"import {EVENTS // 1000}k (log only)",
            rate,
            "events/s",
            "raw COPY into a plain table",
            baseline,
            note="checks every line, stages, checks the file, inserts in batches",
        )
        again, written = await _import(database_url, big, project=False)
        assert written == 0
        bench.record(
            f"re-import {EVENTS // 1000}k (all skipped)", again, "events/s", "raw COPY", baseline
        )
        projected, written = await _import(database_url, small, project=True)
        assert written == PROJECTED_EVENTS
        bench.record(
            f"import {PROJECTED_EVENTS // 1000}k + projections",
            projected,
            "events/s",
            "raw COPY into a plain table",
            baseline,
            note="projections.apply in each batch's transaction",
        )
