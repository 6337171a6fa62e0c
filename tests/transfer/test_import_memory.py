"""A large import streams: its memory stays flat however long the file is."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.transfer.synthetic import synthetic_log
from timeline.transfer.importer import import_events

EVENTS = 100_000
# The file is ~58 MB; holding it, or its parsed rows, would take several times this.
GROWTH_BYTES = 32 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


@contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Samples this process's resident size every 20 ms; yields [growth of the peak]."""
    start = _rss()
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    growth = [0]
    try:
        yield growth
    finally:
        done.set()
        thread.join()
        growth[0] = max(peak[0], _rss()) - start


async def test_importing_100k_events_stays_under_a_memory_bound(
    target: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "big.ndjson"
    with path.open("wb") as out:
        out.writelines(synthetic_log(EVENTS, slug="big-import"))
    assert path.stat().st_size > GROWTH_BYTES
    with peak_rss_growth() as growth, path.open("rb") as stream:
        # The log alone: the projections' own cost is theirs (a rebuild would follow).
        report = await import_events(target, stream, project=False)
    assert (report.lines, report.written) == (EVENTS, EVENTS)
    assert growth[0] < GROWTH_BYTES, f"resident size grew {growth[0] / 2**20:.1f} MiB"
    async with target.connect() as conn:
        held = await conn.scalar(text("SELECT count(*) FROM events WHERE timeline = 'big-import'"))
    assert held == EVENTS - 1  # the source has no timeline
