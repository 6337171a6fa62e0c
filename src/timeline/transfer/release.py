"""One release of a dataset (ACLED, UCDP GED) into one timeline, as knowledge.

A release is a report: its date is the `reported_at` of everything it tells
us. Each row is one assertion whose id derives from the dataset, the timeline
and the row id, so a later release finds it again:
- a row new to this timeline is recorded;
- a row that equals the assertion as it was known on the release date writes
  nothing;
- a changed row is an `AssertionRevised` ("ACLED release 2024-05-14"), carrying
  every mapped field, so the event alone says what the release said (the
  history's diffs, computed from states, show only what changed);
- a row the release deletes (ACLED's deletions file; a full UCDP release that
  no longer has it) is retracted.

Releases go in date order: a release older than the newest one the timeline
holds is refused (ReleaseOutOfOrder). A row the newer release left unchanged
wrote nothing, so the store cannot tell that an older release slotted in
before it is not the latest word on that row. Re-importing the newest release
(a corrected file of the same date) is allowed.
A re-import of the very files the timeline last took for its newest release,
with nothing written to the timeline's assertions since, is answered from the
files' digest without reading a row (unchanged.py).

Two passes: the first (checking.py) parses and checks every row once and
stages it in a session-local table, writing nothing; the second (writing.py)
reads the staged rows back and writes them a batch per transaction, set-based,
so the feed's horizon keeps moving. Memory stays flat: the row ids live in
the staging table, and repeated ids, deletions and rows that left a full
release are found by SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from timeline.commands.handlers import open_timeline, register_source
from timeline.commands.load import load_many
from timeline.commands.writer import WriteContext, Writer
from timeline.domain.assertions import Assertion
from timeline.domain.commands import OpenTimeline, RegisterSource
from timeline.domain.errors import DomainError
from timeline.domain.events import AssertionEvent
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.store.codec import RecordedEvent
from timeline.store.db import fetch
from timeline.transfer.checking import (
    Checked,
    check_file,
    mapped_decoder,
    stage,
    stage_deletions,
    unstage,
)
from timeline.transfer.csvrows import HeaderError, read_header
from timeline.transfer.dataset import Mapped, source_id
from timeline.transfer.deciding import Decider, fields, same
from timeline.transfer.ordering import forget, newest_release, remember
from timeline.transfer.progress import Progress, no_progress
from timeline.transfer.report import BadRows, Release, ReleaseOutOfOrder, ReleaseReport
from timeline.transfer.retracting import retract
from timeline.transfer.settled import all_settled
from timeline.transfer.unchanged import digest, reimport_of, same_release
from timeline.transfer.writing import Pipeline, Rows

__all__ = ["BadRows", "HeaderError", "Release", "ReleaseOutOfOrder", "ReleaseReport"]

DEFAULT_BATCH = 1000


async def _prepare(
    writer: Writer, release: Release, names: set[str], ctx: WriteContext
) -> tuple[Timeline, dict[str, Source | None]]:
    """The timeline (opened when missing) and every source named (registered when missing)."""
    slug, label = release.timeline, release.codebook.label
    ids = {source_id(n): n for n in names}
    async with writer.engine.connect() as conn:
        many = await load_many(conn, timeline_slugs=[slug], source_ids=ids)
    if many.timelines[slug] is None:
        await open_timeline(
            writer,
            OpenTimeline(slug=slug, title=slug, description=f"Imported from {label}."),
            ctx,
        )
    for sid, name in sorted(ids.items()):
        if many.sources[sid] is None:
            await register_source(
                writer, RegisterSource(source_id=sid, publisher=name, title=name), ctx
            )
    async with writer.engine.connect() as conn:
        many = await load_many(conn, timeline_slugs=[slug], source_ids=ids)
    tl = many.timelines[slug]
    assert tl is not None
    return tl, many.sources


_PENDING = (
    "SELECT line, row_id, row_hash, mapped FROM release_rows "
    "WHERE NOT settled AND line > $1 ORDER BY line LIMIT $2"
)


async def import_release(
    engine: AsyncEngine,
    path: str,
    release: Release,
    *,
    deletions: str | None = None,
    skip_bad: bool = False,
    progress: Progress = no_progress,
    size: int | None = None,
    batch: int = DEFAULT_BATCH,
    actor: str = "timeline import",
) -> ReleaseReport:
    """Import one release file; BadRows (nothing written) unless `skip_bad`.

    HeaderError when the file (or the deletions file) is not this dataset's;
    ReleaseOutOfOrder when the timeline holds a newer release of the dataset.
    """
    codebook = release.codebook
    newest = await newest_release(engine, release)
    if newest is not None and newest > release.reported_at:
        # A row the newer release left unchanged wrote nothing, so an older release
        # slotted in now would become the current state of that row.
        raise ReleaseOutOfOrder(
            f"{release.reason} is older than the {codebook.label} release of "
            f"{newest.date()} that {release.timeline} holds: releases go in date order"
        )
    # in a thread: hashing a million-row file takes a second the event loop need not stall
    file_digest = await asyncio.to_thread(digest, release, path, deletions, progress, size)
    if newest is not None and newest == release.reported_at:
        answer = await same_release(engine, release, file_digest)
        if answer is not None:  # the very files it last took, and nothing changed since
            return answer
    await forget(engine, release)
    async with engine.connect() as conn:
        await stage(conn)
        try:
            report = await _import(
                engine,
                conn,
                path,
                release,
                newest is not None,
                deletions,
                skip_bad,
                progress,
                size,
                batch,
                actor,
            )
        finally:
            await unstage(conn)
    await remember(engine, release, file_digest, reimport_of(report))
    return report


async def _import(
    engine: AsyncEngine,
    conn: AsyncConnection,
    path: str,
    release: Release,
    known: bool,
    deletions: str | None,
    skip_bad: bool,
    progress: Progress,
    size: int | None,
    batch: int,
    actor: str,
) -> ReleaseReport:
    codebook = release.codebook
    settled = None
    if known:  # a re-import: perhaps every row is settled, and none needs reading
        header = read_header(path, codebook.required)
        settled = await all_settled(conn, path, codebook, header, release.timeline)
    if settled is not None:
        checked = Checked(report=ReleaseReport(rows=settled, unchanged=settled), names=set())
        progress("checking", size or 0, size)
    else:
        checked = await check_file(conn, path, release, progress, size, known=known)
    report = checked.report
    if deletions:
        await stage_deletions(conn, deletions, codebook.required[0])
    if report.bad and not skip_bad:
        raise BadRows(report)
    ctx = WriteContext(actor=actor, correlation_id=f"{codebook.name}:{release.released}")
    metadata = ctx.metadata()
    tl, sources = await _prepare(Writer(engine), release, checked.names, ctx)
    decider = Decider(release, sources, tl)
    pending: dict[str, tuple[Mapped, int]] = {}

    def unchanged(row_id: str, state: Assertion, into: ReleaseReport) -> bool:
        """A row equal to its assertion, whose knowledge this release does not precede."""
        mapped, _ = pending[row_id]
        if state.last_reported_at > release.reported_at or state.status == "retracted":
            return False  # decided from the stream: known-at folds, or a note
        if same(state, fields(mapped)):
            into.unchanged += 1
            return True
        return False

    def decide_row(
        row_id: str, recorded: Sequence[RecordedEvent], into: ReleaseReport
    ) -> list[AssertionEvent]:
        mapped, line = pending[row_id]
        try:
            return decider.record_or_revise(mapped, recorded, into, line)
        except DomainError as error:
            into.error(f"line {line}: {error}")
            return []

    last, done = 0, 0
    previous: dict[str, tuple[Mapped, int]] = {}
    async with engine.connect() as writer:
        pipeline = Pipeline(conn, writer, report)
        try:
            while rows := await fetch(conn, _PENDING, last, batch):
                current: dict[str, tuple[Mapped, int]] = {}
                hashes: dict[str, bytes] = {}
                for r in rows:
                    current[r["row_id"]] = (mapped_decoder.decode(r["mapped"]), r["line"])
                    hashes[r["row_id"]] = bytes(r["row_hash"])
                # This batch and the one being written, which a conflict decides again;
                # rebound, not changed, as that one may be deciding in its thread.
                pending = {**previous, **current}
                previous = current
                last = rows[-1]["line"]
                ids = [r["row_id"] for r in rows]
                await pipeline.put(
                    Rows(
                        release=release,
                        row_ids=ids,
                        decide=decide_row,
                        metadata=metadata,
                        settled=unchanged,
                        hashes=hashes,
                    ),
                    fresh=not known,
                )
                done += len(rows)
                progress("writing", done, checked.pending)
        finally:
            await pipeline.drain()
    await conn.commit()
    await retract(conn, release, decider, report, metadata, batch, progress)
    return report
