"""Benchmark bookkeeping: every figure is printed beside a baseline measured in the same run."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(".bench/results.json")


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


@dataclass
class Bench:
    """Collects figures; `report()` writes .bench/results.json and prints a table."""

    figures: list[Figure] = field(default_factory=list)
    database_url: str = ""

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
    ) -> Figure:
        ratio = value / baseline_value if baseline_value else float("nan")
        figure = Figure(
            name, value, unit, baseline, baseline_value, round(ratio, 3), higher_is_better, note
        )
        self.figures.append(figure)
        print(
            f"  {name:<28} {value:>12.2f} {unit:<10} vs {baseline} {baseline_value:.2f}"
            f"  ratio {ratio:.2f}",
            flush=True,
        )
        return figure

    def report(self) -> None:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps([asdict(f) for f in self.figures], indent=2) + "\n")
        print()
        print(f"{'name':<30}{'value':>12} {'unit':<10}{'baseline':<36}{'baseline':>12}{'ratio':>8}")
        for f in self.figures:
            print(
                f"{f.name:<30}{f.value:>12.2f} {f.unit:<10}{f.baseline:<36}"
                f"{f.baseline_value:>12.2f}{f.ratio:>8.2f}"
            )
        print(f"\nwritten to {RESULTS}")


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
