"""Cost vs timeline size: a page and each filter on a timeline of 1,000 assertions and 100,000.

The timelines (fill.scale_timelines) hold mostly one-day assertions spread over
2018-2020, 2% a month, 1% an interval of months or years; the big one is 100
copies of the small one, so a window holds 100 times as many assertions. Each
figure is the p50 of a page of 50 read as the API reads it
(`projections.timelines.get_timeline_json`, in autocommit), on the 100k timeline,
beside the same read on the 1k timeline, sampled in turn with the same window:

- read.page: the first page, no filter;
- read.occurred_window: `occurred_from`/`occurred_to`, a 90-day window (the
  1k timeline holds about 80 assertions in one, so both fill the page);
- read.known_at_page: `known_at` the window's end;
- read.kind_filter: `kind=drone_strike` (one assertion in five).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import msgspec

from tests.bench import entry, fill
from tests.bench.harness import Bench, median

DATABASE = "scale"  # shared with bench_http
SAMPLES = 80
WINDOW = timedelta(days=90)
FIRST, LAST = date(2018, 1, 1), date(2020, 9, 30)  # window starts
LIMIT = 50


def _probes(rng: random.Random) -> dict[str, tuple[entry.Temporal, entry.TimelineFilters]]:
    start = FIRST + timedelta(days=rng.randint(0, (LAST - FIRST).days))
    end = start + WINDOW
    return {
        "page": (entry.NOW, entry.TimelineFilters()),
        "occurred_window": (
            entry.Temporal(occurred_from=start, occurred_to=end),
            entry.TimelineFilters(),
        ),
        "known_at_page": (
            entry.Temporal(known_at=datetime.combine(end, clock(), tzinfo=UTC)),
            entry.TimelineFilters(),
        ),
        "kind_filter": (entry.NOW, entry.TimelineFilters(kind=("drone_strike",))),
    }


async def run(bench: Bench, database_url: str) -> None:
    engine = entry.create_engine(database_url, pool_size=2)
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    timelines = {"1k": fill.TEMPLATE, "100k": fill.BIG}
    try:
        await fill.scale_timelines(engine)
        rng = random.Random(11)
        times: dict[tuple[str, str], list[float]] = {}
        sizes: dict[tuple[str, str], list[int]] = {}
        async with entry.connect(reader) as conn:
            for i in range(SAMPLES + 5):
                for probe, (temporal, filters) in _probes(rng).items():
                    for label, slug in timelines.items():
                        start = time.perf_counter()
                        page = await entry.timeline_page(conn, slug, temporal, filters, LIMIT)
                        elapsed = (time.perf_counter() - start) * 1000
                        if i < 5:  # warm-up
                            continue
                        times.setdefault((probe, label), []).append(elapsed)
                        found = len(msgspec.json.decode(page)["assertions"])
                        sizes.setdefault((probe, label), []).append(found)
        for probe in ("page", "occurred_window", "known_at_page", "kind_filter"):
            small, big = median(times[probe, "1k"]), median(times[probe, "100k"])
            shown = median([float(n) for n in sizes[probe, "100k"]])
            bench.record(
                f"read.{probe}@100k",
                big,
                "ms p50",
                f"read.{probe}@1k",
                small,
                higher_is_better=False,
                note=f"pages of {shown:.0f} assertions (median)",
            )
    finally:
        await engine.dispose()
