"""Benchmark bookkeeping: every figure is printed beside a baseline measured in the same run."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import math
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.pg import scratch_database, with_database
from timeline.migrate import migrate

RESULTS = Path(".bench/results.json")


@dataclass(frozen=True)
class Target:
    """An issue's target for a figure's ratio: at least (or at most, for costs) `ratio`."""

    pattern: str  # fnmatch pattern of figure names
    ratio: float
    source: str


# Issue 10's targets ("Benchmark" and "Build" 5). Ratios are figure / baseline.
TARGETS = (
    Target("http.get_timeline", 0.8, "GET >= 0.8x a bare one-SELECT route"),
    Target("http.get_timeline_304", 1.0, "304 >= 1.0x a bare one-SELECT route"),
    Target("http.post_assertion", 0.4, "POST >= 0.4x a bare one-INSERT route"),
    Target("http.post_assertion@100k", 0.7, "POST into 100k >= 0.7x into an empty timeline"),
    Target("append.8_clients", 0.5, "append x8 >= 0.5x raw INSERTs"),
    Target("feed.delivery_p* (* sub)", 2.0, "feed delivery <= 2x the bare fan-out"),
    Target("read.occurred_window@100k", 1.5, "occurred window page, 100k <= 1.5x 1k"),
    Target("read.page@100k", 1.5, "a page, 100k assertions <= 1.5x 1k"),
    Target("read.known_at_page@100k", 1.5, "a known_at page, 100k <= 1.5x 1k"),
    Target("read.kind_filter@100k", 1.5, "a kind-filtered page, 100k <= 1.5x 1k"),
    Target("read.known_at@*_vs_10k", 1.5, "a page, big store <= 1.5x 10k events"),
    Target("read.http_page@*", 1.5, "a page over HTTP, big store <= 1.5x 10k events"),
    Target("write.*@*", 1.5, "a write, big store <= 1.5x 10k events"),
    # Issue 17's
    Target("datasets.acled_import@*", 0.3, "ACLED import >= 0.3x COPY of the CSV"),
    Target("datasets.acled_reimport@*", 1.0, "ACLED re-import >= 1.0x COPY of the CSV"),
    # Issue 16's.
    Target("relay.throughput", 0.5, "relay >= 0.5x nats-py publishing with acks"),
    # Issue 14's
    Target("viewer.all_cards_painted", 0.5, "viewer until every card painted <= 0.5x TimelineJS"),
    Target("viewer.bytes", 0.5, "viewer bytes <= 0.5x TimelineJS's"),
    # Issue 15's (the verifiable log).
    Target("log.integrate", 0.5, "integration >= 0.5x hashlib of the same entries"),
    Target("log.append_with_sequencer", 0.9, "appends, sequencer on >= 0.9x off"),
    Target("log.commit_to_checkpoint_p99", 1.0, "commit to signed checkpoint p99 <= 1 s"),
)


def target_of(name: str) -> Target | None:
    """The first target whose pattern matches `name` (the exact ones are listed first)."""
    for target in TARGETS:
        if fnmatch.fnmatchcase(name, target.pattern):
            return target
    return None


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: str
    baseline_value: float
    ratio: float
    higher_is_better: bool = True
    note: str = ""
    target: float | None = None
    met: bool | None = None
    broken: bool = False


@dataclass
class Bench:
    """Collects figures; `report()` writes .bench/results.json and prints a table."""

    figures: list[Figure] = field(default_factory=list)
    database_url: str = ""
    database_kind: str = ""

    def record(
        self,
        name: str,
        value: float,
        unit: str,
        baseline: str,
        baseline_value: float,
        *,
        higher_is_better: bool = True,
        note: str = "",
        broken: bool = False,
    ) -> Figure:
        """Record and print a figure beside its baseline.

        `broken`: the run behind the figure failed in part (errors, broken streams,
        said in `note`), so its target counts as missed whatever the ratio.
        """
        ratio = value / baseline_value if baseline_value else float("nan")
        figure = Figure(
            name, value, unit, baseline, baseline_value, round(ratio, 3), higher_is_better, note
        )
        figure.broken = broken
        target = target_of(name)
        if target is not None and not math.isnan(ratio):
            figure.target = target.ratio
            met = ratio >= target.ratio if higher_is_better else ratio <= target.ratio
            figure.met = met and not broken
        self.figures.append(figure)
        print(
            f"  {name:<28} {value:>12.2f} {unit:<10} vs {baseline} {baseline_value:.2f}"
            f"  ratio {ratio:.2f}" + (f"  ({note})" if note else ""),
            flush=True,
        )
        return figure

    def report(self) -> None:
        """Write the figures to RESULTS (and a copy named by the database kind), print them."""
        RESULTS.parent.mkdir(exist_ok=True)
        body = json.dumps([asdict(f) for f in self.figures], indent=2) + "\n"
        RESULTS.write_text(body)
        RESULTS.with_name(f"results-{self.database_kind}.json").write_text(body)
        print()
        print(f"{'name':<30}{'value':>12} {'unit':<10}{'baseline':<36}{'baseline':>12}{'ratio':>8}")
        for f in self.figures:
            print(
                f"{f.name:<30}{f.value:>12.2f} {f.unit:<10}{f.baseline:<36}"
                f"{f.baseline_value:>12.2f}{f.ratio:>8.2f}"
            )
        self.summary()
        print(
            f"\nwritten to {RESULTS} and {RESULTS.with_name(f'results-{self.database_kind}.json')}"
        )

    def summary(self) -> None:
        """The issue's targets: each figure that has one, its ratio, and whether it is met."""
        print(f"\ntargets ({self.database_kind})")
        head = f"{'figure':<34}{'ratio':>8}  {'target':<9}{'':<7}"
        print(f"{head}  what (BROKEN: part of the run failed, counted as missed)")
        for f in self.figures:
            target = target_of(f.name)
            if target is None:
                continue
            sign = ">=" if f.higher_is_better else "<="
            verdict = "-" if f.met is None else ("met" if f.met else "MISSED")
            if f.broken:
                verdict = "BROKEN"  # counted as missed: the note says what failed
            print(
                f"{f.name:<34}{f.ratio:>8.2f}  {sign} {target.ratio:<6.2f}{verdict:<7}  "
                f"{target.source}"
            )
        missing = [
            t.pattern
            for t in TARGETS
            if not any(fnmatch.fnmatchcase(f.name, t.pattern) for f in self.figures)
        ]
        if missing:
            print(f"not measured in this run: {', '.join(missing)}")


async def rate(work: Callable[[], Awaitable[int]]) -> float:
    """Items per second of one call of `work`, which returns how many items it did."""
    start = time.perf_counter()
    count = await work()
    return count / (time.perf_counter() - start)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


@contextlib.asynccontextmanager
async def another_database(database_url: str) -> AsyncIterator[str]:
    """A second migrated scratch database on the same server as `database_url`."""
    with scratch_database(with_database(database_url, "postgres")) as url:
        await asyncio.to_thread(migrate, url)  # migrate runs an event loop of its own
        yield url


def elapsed(start: float) -> str:
    return f"{time.perf_counter() - start:.0f} s"
