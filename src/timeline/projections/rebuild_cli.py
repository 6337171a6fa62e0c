"""`timeline rebuild`: a rebuild with a progress bar (events, events/s, ETA)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from timeline.projections.rebuild import rebuild
from timeline.store.db import create_engine


class _RateColumn(ProgressColumn):
    """Events per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        rate = "" if speed is None else f"{speed:,.0f} events/s"
        return Text(rate, style="progress.data.speed")


async def cli_rebuild(url: str, batch_size: int) -> int:
    """`timeline rebuild`: rebuild with a progress bar (events, events/s, ETA)."""
    engine = create_engine(url, pool_size=2, application="timeline-rebuild")
    columns = (
        TextColumn("rebuild"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task("rebuild", total=None)

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = await rebuild(engine, batch_size=max(1, batch_size), progress=report)
    finally:
        await engine.dispose()
    how = "resumed and rebuilt" if result.resumed else "rebuilt"
    print(
        f"timeline: {how} projections from {result.events} events "
        f"(to position {result.last_position}) in {result.seconds:.1f}s"
    )
    return 0
