"""The progress bar of an import, one bar per phase ("checking", "writing", ...), on stderr.

Shown only on a terminal; a pipe or a log gets nothing but the final report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich import progress as bars
from rich.console import Console

# progress(phase, done, total): how far a phase ("hashing" and "checking" count bytes; "writing",
# "restoring", "retracting" count rows) has come; total None when it is not known.
Progress = Callable[[str, int, int | None], None]


def no_progress(phase: str, done: int, total: int | None) -> None:
    return None


@contextmanager
def phases() -> Iterator[Progress]:
    """A Progress drawing a bar per phase, each appearing the first time it is named."""
    console = Console(stderr=True)
    with bars.Progress(
        bars.TextColumn("{task.description:<10}"),
        bars.BarColumn(),
        bars.TextColumn("{task.percentage:>5.1f}%"),
        bars.TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    ) as bar:
        tasks: dict[str, bars.TaskID] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield progress
