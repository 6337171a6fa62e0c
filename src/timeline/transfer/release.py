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

Two passes over the file: the first checks every row and writes nothing; the
second writes, a batch of rows per transaction (one `timeline_write` call with
its projection rows, as a command does, but for a thousand streams), so the
feed's horizon keeps moving and memory stays flat. Only the set of row ids
seen grows with the file (to find duplicates and, for full releases, the rows
that left).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from timeline.commands.handlers import open_timeline, register_source
from timeline.commands.load import assertion_stream, load_many
from timeline.commands.writer import WriteContext, Writer
from timeline.domain import assertions
from timeline.domain.assertions import Assertion
from timeline.domain.commands import (
    OpenTimeline,
    RecordAssertion,
    RegisterSource,
    RetractAssertion,
    ReviseAssertion,
)
from timeline.domain.errors import DomainError
from timeline.domain.events import AssertionEvent, Event
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.domain.values import Citation
from timeline.projections.write import plan_write
from timeline.store.append import Append, write
from timeline.store.codec import RecordedEvent, encode_data
from timeline.store.db import connect
from timeline.store.errors import StreamVersionConflict
from timeline.transfer.bulk import current_states, load_assertions_for_write
from timeline.transfer.csvrows import HeaderError, Row, RowError, read_rows
from timeline.transfer.dataset import Codebook, Mapped, assertion_id, release_reason, source_id

DEFAULT_BATCH = 1000
SHOWN_ERRORS = 100  # the report lists this many bad rows, and counts the rest

# progress(phase, done, total): "checking" and "writing" count bytes, "retracting" rows.
Progress = Callable[[str, int, int | None], None]


def _no_progress(phase: str, done: int, total: int | None) -> None:
    return None


class ReleaseReport(msgspec.Struct, kw_only=True):
    rows: int = 0
    recorded: int = 0
    revised: int = 0
    unchanged: int = 0
    retracted: int = 0
    skipped: int = 0
    bad: int = 0
    errors: list[str] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)

    def error(self, message: str) -> None:
        self.bad += 1
        if len(self.errors) < SHOWN_ERRORS:
            self.errors.append(message)

    def note(self, message: str) -> None:
        self.skipped += 1
        if len(self.notes) < SHOWN_ERRORS:
            self.notes.append(message)


class ReleaseOutOfOrder(ValueError):
    """A release older than one this timeline already holds of the same dataset."""


class BadRows(ValueError):
    """Rows that break the codebook; nothing was written."""

    def __init__(self, report: ReleaseReport) -> None:
        self.report = report
        more = report.bad - len(report.errors)
        tail = f"\n... and {more} more" if more > 0 else ""
        super().__init__("\n".join(report.errors) + tail)


class Release(msgspec.Struct, frozen=True, kw_only=True):
    codebook: Codebook
    timeline: str
    released: date
    # A partial release (UCDP's monthly candidates) deletes nothing by leaving a row out.
    partial: bool = False

    @property
    def full(self) -> bool:
        """Whether a row this release no longer has was deleted."""
        return self.codebook.full_releases and not self.partial

    @property
    def reported_at(self) -> datetime:
        """The start of the release day, UTC: `known_at=<release date>` then includes it."""
        return datetime.combine(self.released, time(), tzinfo=UTC)

    @property
    def reason(self) -> str:
        return release_reason(self.codebook, self.released)


def _good_rows(
    path: str, codebook: Codebook, report: ReleaseReport | None
) -> Iterator[tuple[Row, Mapped, int]]:
    """Each row that maps, with the bytes read; bad rows go to `report` (None: skip them)."""
    with open(path, "rb") as stream:
        for item, read in read_rows(stream, codebook.required):
            if isinstance(item, RowError):
                if report is not None:
                    report.error(str(item))
                continue
            try:
                yield item, codebook.parse(item), read
            except RowError as error:
                if report is not None:
                    report.error(str(error))


class Checked(msgspec.Struct, kw_only=True):
    """What the first pass learns: the report, every row id, the repeated ones, source names."""

    report: ReleaseReport
    seen: set[str]
    repeated: set[str]
    names: set[str]


def check_file(path: str, codebook: Codebook, progress: Progress, size: int | None) -> Checked:
    """First pass: every row checked, nothing written."""
    report = ReleaseReport()
    seen: set[str] = set()
    repeated: set[str] = set()
    names: set[str] = set()
    for number, (row, mapped, read) in enumerate(_good_rows(path, codebook, report), start=1):
        if mapped.row_id in seen:
            repeated.add(mapped.row_id)
            report.error(
                str(row.cell_error(_id_column(codebook), "the row id appears earlier too"))
            )
        seen.add(mapped.row_id)
        names.update(mapped.sources)
        if number % 5000 == 0:
            progress("checking", read, size)
    report.rows = len(seen) + report.bad
    return Checked(report=report, seen=seen, repeated=repeated, names=names)


def _id_column(codebook: Codebook) -> str:
    return codebook.required[0]


def read_deletions(path: str, id_column: str) -> set[str]:
    """Row ids a deletions file lists (ACLED's: event_id_cnty, deleted_timestamp)."""
    ids: set[str] = set()
    with open(path, "rb") as stream:
        for item, _ in read_rows(stream, (id_column,)):
            if isinstance(item, RowError):
                raise HeaderError(f"deletions: {item}")
            value = item.cells[id_column].strip()
            if not value:
                raise HeaderError(f"deletions: {item.cell_error(id_column, 'must not be empty')}")
            ids.add(value)
    return ids


class _Batch:
    """What one batch decides, stream by stream, from one load of them all."""

    def __init__(self, release: Release, sources: dict[str, Source | None], tl: Timeline) -> None:
        self.release = release
        self.sources = sources
        self.timeline = tl

    @staticmethod
    def fields(mapped: Mapped) -> dict[str, Any]:
        """The assertion fields a row sets, as a revision or a recording carries them."""
        return {
            "occurred": mapped.occurred,
            "kind": mapped.kind,
            "summary": mapped.summary,
            "place": mapped.place,
            "actors": mapped.actors,
            "quantities": mapped.quantities,
            "dataset_row": mapped.dataset_row,
        }

    def record_or_revise(
        self, mapped: Mapped, recorded: Sequence[RecordedEvent], report: ReleaseReport, line: int
    ) -> list[AssertionEvent]:
        aid = assertion_id(self.release.codebook.name, self.release.timeline, mapped.row_id)
        citations = tuple(Citation(source_id=source_id(n)) for n in mapped.sources)
        at = self.release.reported_at
        fields = self.fields(mapped)
        if not recorded:
            report.recorded += 1
            cmd = RecordAssertion(
                assertion_id=aid,
                timeline=self.release.timeline,
                citations=citations,
                reported_at=at,
                **fields,
            )
            return assertions.record_assertion(None, cmd, self.timeline, self.sources)
        history = [(r.version, _assertion_event(r)) for r in recorded]
        current = assertions.fold(history)
        known = assertions.fold(history, known_at=at)
        assert current is not None
        if current.status == "retracted":
            report.note(f"line {line}: row {mapped.row_id} was retracted; it stays retracted")
            return []
        if known is None:
            report.note(f"line {line}: row {mapped.row_id} was first reported after this release")
            return []
        if _same(known, fields):
            report.unchanged += 1
            return []
        report.revised += 1
        revision = ReviseAssertion(
            assertion_id=aid,
            reason=self.release.reason,
            citations=citations,
            reported_at=at,
            **fields,
        )
        return assertions.revise_assertion(current, revision, self.sources)

    def retract(
        self, row_id: str, recorded: Sequence[RecordedEvent], why: str, report: ReleaseReport
    ) -> list[AssertionEvent]:
        if not recorded:
            report.note(f"row {row_id}: {why}, but this timeline never had it")
            return []
        history = [(r.version, _assertion_event(r)) for r in recorded]
        current = assertions.fold(history)
        assert current is not None
        if current.status == "retracted":
            return []
        if assertions.fold(history, known_at=self.release.reported_at) is None:
            report.note(f"row {row_id}: {why}, but it was first reported after this release")
            return []
        report.retracted += 1
        cmd = RetractAssertion(
            assertion_id=current.assertion_id,
            reason=f"{self.release.reason}: {why}",
            reported_at=self.release.reported_at,
        )
        return assertions.retract_assertion(current, cmd, self.sources)


def _assertion_event(recorded: RecordedEvent) -> AssertionEvent:
    return recorded.event  # type: ignore[return-value]


def _same(known: Assertion, fields: dict[str, Any]) -> bool:
    return bool(
        known.occurred.text == fields["occurred"]
        and known.kind == fields["kind"]
        and known.summary == fields["summary"]
        and known.place == fields["place"]
        and known.actors == fields["actors"]
        and known.quantities == fields["quantities"]
        and known.dataset_row == fields["dataset_row"]
    )


Settled = Callable[[str, Assertion], bool]


async def _write_batch(
    engine: AsyncEngine,
    release: Release,
    row_ids: Sequence[str],
    decide: Callable[[str, Sequence[RecordedEvent]], Sequence[Event]],
    metadata: dict[str, Any],
    settled: Settled | None = None,
) -> None:
    """Decide each row from its stream and write them all in one statement.

    First the rows' current states are read from their projection rows:
    `settled(row_id, state)` says a row needs nothing (a re-import reads no
    events at all). The other rows' streams are then loaded and decided. A
    writer that changed one of the streams meanwhile makes the write fail as a
    whole; the batch is then loaded and decided again.
    """
    name, slug = release.codebook.name, release.timeline
    ids = {r: assertion_id(name, slug, r) for r in row_ids}
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    for attempt in range(3):
        async with connect(autocommit) as conn:
            todo = list(row_ids)
            if settled is not None:
                current = await current_states(conn, list(ids.values()))
                todo = [r for r in todo if ids[r] not in current or not settled(r, current[ids[r]])]
            if not todo:
                return
            read = await load_assertions_for_write(conn, [ids[r] for r in todo])
            appends: list[Append] = []
            for row_id in todo:
                stream = assertion_stream(ids[row_id])
                old = read.streams.get(stream, [])
                events = decide(row_id, old)
                if events:
                    appends.append(
                        Append(
                            stream=stream,
                            expected=old[-1].version if old else 0,
                            events=events,
                            data=[encode_data(e) for e in events],
                            metadata=metadata,
                            timeline=slug,
                        )
                    )
            if not appends:
                return
            planned = plan_write(read, appends)
            try:
                await write(conn, appends, recorded_at=read.clock, rows=planned.rows)
                return
            except StreamVersionConflict:
                if attempt == 2:
                    raise
    return


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


# The newest release of a dataset this timeline holds: every event a release writes
# carries its date as reported_at (recordings and revisions also the dataset row,
# retractions the release in their reason).
_NEWEST_RELEASE = text(
    "SELECT max(reported_at) FROM events WHERE timeline = :slug AND stream_type = 'assertion' "
    "AND (data->'dataset_row'->>'dataset' = :dataset "
    "     OR (type = 'AssertionRetracted' AND data->>'reason' LIKE :reason))"
)


async def newest_release(engine: AsyncEngine, release: Release) -> datetime | None:
    """When the newest release of this dataset in this timeline was reported, if any."""
    params = {
        "slug": release.timeline,
        "dataset": release.codebook.name,
        "reason": f"{release.codebook.label} release %",
    }
    async with engine.connect() as conn:
        newest: datetime | None = await conn.scalar(_NEWEST_RELEASE, params)
    return newest


_DATASET_ROWS = text(
    "SELECT data->'dataset_row'->>'row_id' AS row_id FROM events "
    "WHERE timeline = :slug AND type = 'AssertionRecorded' "
    "AND data->'dataset_row'->>'dataset' = :dataset"
)


async def import_release(
    engine: AsyncEngine,
    path: str,
    release: Release,
    *,
    deletions: str | None = None,
    skip_bad: bool = False,
    progress: Progress = _no_progress,
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
    checked = check_file(path, codebook, progress, size)
    report, seen, names = checked.report, checked.seen, checked.names
    deleted = read_deletions(deletions, _id_column(codebook)) if deletions else set()
    if report.bad and not skip_bad:
        raise BadRows(report)
    ctx = WriteContext(actor=actor, correlation_id=f"{codebook.name}:{release.released}")
    metadata = ctx.metadata()
    writer = Writer(engine)
    tl, sources = await _prepare(writer, release, names, ctx)
    decider = _Batch(release, sources, tl)

    pending: dict[str, tuple[Mapped, int]] = {}

    def unchanged(row_id: str, state: Assertion) -> bool:
        """A row equal to its assertion, whose knowledge this release does not precede."""
        mapped, _ = pending[row_id]
        if state.last_reported_at > release.reported_at or state.status == "retracted":
            return False  # decided from the stream: known-at folds, or a note
        if _same(state, decider.fields(mapped)):
            report.unchanged += 1
            return True
        return False

    def decide_row(row_id: str, recorded: Sequence[RecordedEvent]) -> list[AssertionEvent]:
        mapped, line = pending[row_id]
        try:
            return decider.record_or_revise(mapped, recorded, report, line)
        except DomainError as error:
            report.error(f"line {line}: {error}")
            return []

    written_once: set[str] = set()  # of the repeated ids only: the first row is the one written
    for row, mapped, read in _good_rows(path, codebook, None):
        if mapped.row_id in checked.repeated:
            if mapped.row_id in written_once:
                continue
            written_once.add(mapped.row_id)
        pending[mapped.row_id] = (mapped, row.line)
        if len(pending) >= batch:
            await _write_batch(engine, release, list(pending), decide_row, metadata, unchanged)
            pending.clear()
            progress("writing", read, size)
    if pending:
        await _write_batch(engine, release, list(pending), decide_row, metadata, unchanged)
        pending.clear()
    progress("writing", size or 0, size)

    if not release.full:
        seen = {r for r in deleted if r in seen}  # all that is asked of it from here on
        checked.seen.clear()
    gone: dict[str, str] = {}
    for row_id in sorted(deleted):
        if row_id in seen:
            report.note(f"row {row_id}: listed as deleted and in the release; kept")
        else:
            gone[row_id] = "deleted by the dataset"
    if release.full:
        async with engine.connect() as conn:
            rows = await conn.execute(_DATASET_ROWS, {"slug": tl.slug, "dataset": codebook.name})
            for (row_id,) in rows:
                if row_id not in seen:
                    gone.setdefault(row_id, "no longer in the release")
    ids = list(gone)
    for first in range(0, len(ids), batch):
        chunk = ids[first : first + batch]
        await _write_batch(
            engine,
            release,
            chunk,
            lambda row_id, recorded: decider.retract(row_id, recorded, gone[row_id], report),
            metadata,
            lambda row_id, state: state.status == "retracted",
        )
        progress("retracting", first + len(chunk), len(ids))
    return report
