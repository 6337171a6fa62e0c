"""The command line of dataset imports: arguments checked, progress shown, the report printed."""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, timedelta

from timeline.domain.errors import DomainError
from timeline.feed.notify import wake_readers
from timeline.store.db import create_engine
from timeline.transfer import acled, ucdp
from timeline.transfer.csvrows import HeaderError
from timeline.transfer.dataset import Codebook
from timeline.transfer.progress import phases
from timeline.transfer.release import (
    BadRows,
    Release,
    ReleaseOutOfOrder,
    ReleaseReport,
    import_release,
)

CODEBOOKS: dict[str, Codebook] = {"acled": acled.CODEBOOK, "ucdp-ged": ucdp.CODEBOOK}


def _err(message: str) -> None:
    print(f"timeline: {message}", file=sys.stderr)


def _release_date(raw: str | None) -> date:
    if raw is None:
        raise ValueError("--release DATE is needed: the day the dataset published this file")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"--release {raw!r}: not a date (YYYY-MM-DD)") from None
    if day > (datetime.now(UTC) + timedelta(days=1)).date():
        raise ValueError(f"--release {raw}: in the future")
    return day


def _summary(fmt: str, slug: str, day: date, report: ReleaseReport) -> str:
    return (
        f"import: {fmt} release {day} into {slug}: {report.rows} rows, {report.recorded} "
        f"recorded, {report.revised} revised, {report.unchanged} unchanged, "
        f"{report.retracted} retracted, {report.skipped} skipped, {report.bad} bad"
    )


async def import_dataset(
    url: str,
    file: str,
    *,
    fmt: str,
    timeline: str | None,
    release: str | None,
    deletions: str | None,
    skip_bad: bool,
    partial: bool = False,
) -> int:
    """0 when imported; 1 on bad rows (nothing written without --skip-bad); 2 on bad arguments."""
    codebook = CODEBOOKS[fmt]
    if timeline is None:
        _err(f"import: --format {fmt} needs --timeline SLUG")
        return 2
    if file == "-":
        _err(f"import: --format {fmt} reads its file twice (check, then write): give a path")
        return 2
    try:
        day = _release_date(release)
    except ValueError as error:
        _err(f"import: {error}")
        return 2
    try:
        size = os.stat(file).st_size
    except OSError as error:
        _err(f"import: {error}")
        return 1
    engine = create_engine(url, pool_size=2, application="timeline import")
    try:
        with phases() as progress:
            report = await import_release(
                engine,
                file,
                Release(codebook=codebook, timeline=timeline, released=day, partial=partial),
                deletions=deletions,
                skip_bad=skip_bad,
                progress=progress,
                size=size,
            )
    except OSError as error:
        _err(f"import: {error}")
        return 1
    except DomainError as error:  # the timeline's slug, a source's name
        _err(f"import refused, nothing written: {error}")
        return 1
    except (HeaderError, ReleaseOutOfOrder) as error:
        _err(f"import refused, nothing written: {error}")
        return 1
    except BadRows as error:
        _err(
            f"import refused, nothing written ({error.report.bad} bad rows; --skip-bad writes "
            "the good ones):"
        )
        print(str(error), file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if report.recorded or report.revised or report.retracted:
        await wake_readers(url)  # committed: live feed readers need not wait for their poll
    for message in report.errors:
        print(f"skipped: {message}", file=sys.stderr)
    for message in report.notes:
        print(f"note: {message}", file=sys.stderr)
    _err(_summary(fmt, timeline, day, report))
    return 0
