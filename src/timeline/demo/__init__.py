"""The demo timeline `nagorno-karabakh-2020`, shipped as a reviewed data file."""

from __future__ import annotations

import sys

from timeline.commands.writer import Writer
from timeline.demo.load import LoadReport, load_demo
from timeline.demo.seed import Seed, read_seed
from timeline.domain.errors import DomainError
from timeline.feed.notify import wake_readers
from timeline.store.db import create_engine

__all__ = ["LoadReport", "Seed", "cli_load", "load_demo", "read_seed"]


async def cli_load(url: str) -> int:
    """`timeline demo load`: write the seed timeline unless it is there already."""
    engine = create_engine(url, pool_size=2, application="timeline demo load")
    try:
        seed = read_seed()
        report = await load_demo(Writer(engine), seed)
    except DomainError as error:
        print(f"timeline demo load: {error}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if report.written:
        await wake_readers(url)  # committed: live feed readers need not wait for their poll
    slug = seed.timeline.slug
    if report.written == 0:
        print(f"timeline: demo {slug} is loaded already; nothing written", file=sys.stderr)
    else:
        print(
            f"timeline: demo {slug}: wrote {report.timelines} timeline, {report.sources} sources, "
            f"{report.assertions} assertions, {report.stances} stances "
            f"({report.present} already present)",
            file=sys.stderr,
        )
    return 0
