"""ACLED releases: `timeline import --format acled` rows/s beside PostgreSQL COPY of the same CSV.

Issue 17's figures, each as a ratio to a COPY of the same file into a plain
table of 31 text columns, measured in the same run:
- the first release, projections included (goal >= 0.3x COPY);
- a re-import of that release, nothing to write (goal >= 1.0x): the same bytes,
  answered from the files' digest, and the same rows in other bytes (LF line
  ends, no BOM), each row hashed in SQL and its stored hash looked up;
- a second release in which 5% of the rows changed;
- the import's peak memory (the CLI in a child process) beside the same
  import of a 1,000-row file.

The file is TIMELINE_BENCH_ACLED_ROWS rows (default 20,000, so `make bench`
keeps to its budget; the issue's figure is 1,000,000), generated from the
codebook by tests/transfer/generate.py.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import asyncpg

from tests.bench.harness import Bench
from tests.transfer.generate import rows_of, write_csv, write_file
from timeline.store.db import asyncpg_dsn, create_engine
from timeline.transfer import acled
from timeline.transfer.release import Release, import_release

ROWS = int(os.environ.get("TIMELINE_BENCH_ACLED_ROWS", "20000"))


def _lf_file(path: Path) -> Path:
    """The first release's rows again, in other bytes: LF line ends and no BOM."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        write_csv(out, acled.COLUMNS, rows_of("acled", ROWS), crlf=False)
    return path


async def _copy(url: str, path: Path) -> float:
    """Rows/s of COPY ... FROM STDIN (CSV, HEADER) into a plain table without indexes."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        columns = ", ".join(f"{c} text" for c in acled.COLUMNS)
        await conn.execute(f"CREATE TABLE plain_acled ({columns})")
        start = time.perf_counter()
        await conn.copy_to_table("plain_acled", source=str(path), format="csv", header=True)
        elapsed = time.perf_counter() - start
        count = await conn.fetchval("SELECT count(*) FROM plain_acled")
        await conn.execute("DROP TABLE plain_acled")
    finally:
        await conn.close()
    assert count == ROWS
    return float(count) / elapsed


def _cli_import(url: str, path: Path, slug: str, release: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB so far of any child) of the CLI importing one release."""
    env = {**os.environ, "TIMELINE_DATABASE_URL": url}
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "timeline.cli",
            "import",
            "--format",
            "acled",
            str(path),
            "--timeline",
            slug,
            "--release",
            release,
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


async def _import(url: str, path: Path, slug: str, day: date) -> float:
    engine = create_engine(url, pool_size=2)
    try:
        start = time.perf_counter()
        await import_release(
            engine, str(path), Release(codebook=acled.CODEBOOK, timeline=slug, released=day)
        )
        return ROWS / (time.perf_counter() - start)
    finally:
        await engine.dispose()


async def run(bench: Bench, database_url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = write_file(Path(tmp) / "acled-1.csv", "acled", ROWS)
        second = write_file(Path(tmp) / "acled-2.csv", "acled", ROWS, release=2)
        small = write_file(Path(tmp) / "acled-small.csv", "acled", 1000)
        other_bytes = _lf_file(Path(tmp) / "acled-1-lf.csv")
        copy = await _copy(database_url, first)
        _, small_peak = _cli_import(database_url, small, "bench-acled-small", "2024-04-30")
        seconds, peak = _cli_import(database_url, first, "bench-acled", "2024-04-30")
        label = f"{ROWS // 1000}k"
        bench.record(
            f"datasets.acled_import@{label}",
            ROWS / seconds,
            "rows/s",
            "COPY of the same CSV into a plain table",
            copy,
            note="the CLI (check and stage, then the bulk write, projections included)",
        )
        reimports = (
            ("acled_reimport", first, "the same bytes, answered from the files' digest"),
            (
                "acled_reimport_rows",
                other_bytes,
                "the same rows in other bytes, each hashed in SQL, none parsed",
            ),
        )
        for name, path, how in reimports:
            again = await _import(database_url, path, "bench-acled", date(2024, 4, 30))
            bench.record(
                f"datasets.{name}@{label}",
                again,
                "rows/s",
                "COPY of the same CSV",
                copy,
                note=f"nothing to write: {how}",
            )
        changed = await _import(database_url, second, "bench-acled", date(2024, 5, 14))
        bench.record(
            f"datasets.acled_release_5pct_changed@{label}",
            changed,
            "rows/s",
            "COPY of the same CSV",
            copy,
            note="5% of rows revised, the rest settled by their hashes",
        )
        bench.record(
            f"datasets.acled_import_peak_rss@{label}",
            peak,
            "MiB",
            "the same import of 1k rows",
            small_peak,
            higher_is_better=False,
            note="the CLI process's peak resident memory",
        )
