"""What a release does to one row's assertion: record, revise, retract, or nothing.

The decisions are the domain's (`domain.assertions`), made from the stream as
loaded; a row that equals the assertion as known on the release date writes
nothing, and the report counts every outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timeline.domain import assertions
from timeline.domain.assertions import Assertion
from timeline.domain.commands import RecordAssertion, RetractAssertion, ReviseAssertion
from timeline.domain.events import AssertionEvent
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.domain.values import Citation
from timeline.store.codec import RecordedEvent
from timeline.transfer.dataset import Mapped, assertion_id, source_id
from timeline.transfer.report import Release, ReleaseReport

# The assertion fields a row sets, as a recording or a revision carries them.
FIELDS = ("occurred", "kind", "summary", "place", "actors", "quantities", "dataset_row")


def fields(mapped: Mapped) -> dict[str, Any]:
    """The assertion fields a row sets, as a revision or a recording carries them."""
    return {name: getattr(mapped, name) for name in FIELDS}


def same(known: Assertion, fields: dict[str, Any]) -> bool:
    """Whether an assertion says what a row's fields say."""
    return known.occurred.text == fields["occurred"] and all(
        getattr(known, name) == fields[name] for name in FIELDS[1:]
    )


def _history(recorded: Sequence[RecordedEvent]) -> list[tuple[int, AssertionEvent]]:
    return [(r.version, r.event) for r in recorded]  # type: ignore[misc]


class Decider:
    """A release's decisions, each from one row's stream as loaded."""

    def __init__(self, release: Release, sources: dict[str, Source | None], tl: Timeline) -> None:
        self.release = release
        self.sources = sources
        self.timeline = tl

    def record_or_revise(
        self, mapped: Mapped, recorded: Sequence[RecordedEvent], report: ReleaseReport, line: int
    ) -> list[AssertionEvent]:
        aid = assertion_id(self.release.codebook.name, self.release.timeline, mapped.row_id)
        citations = tuple(Citation(source_id=source_id(n)) for n in mapped.sources)
        at = self.release.reported_at
        row = fields(mapped)
        said = {"assertion_id": aid, "citations": citations, "reported_at": at, **row}
        if not recorded:
            report.recorded += 1
            cmd = RecordAssertion(timeline=self.release.timeline, **said)
            return assertions.record_assertion(None, cmd, self.timeline, self.sources)
        history = _history(recorded)
        current = assertions.fold(history)
        known = assertions.fold(history, known_at=at)
        assert current is not None
        if current.status == "retracted":
            report.note(f"line {line}: row {mapped.row_id} was retracted; it stays retracted")
            return []
        if known is None:
            report.note(f"line {line}: row {mapped.row_id} was first reported after this release")
            return []
        if same(known, row):
            report.unchanged += 1
            return []
        report.revised += 1
        revision = ReviseAssertion(reason=self.release.reason, **said)
        return assertions.revise_assertion(current, revision, self.sources)

    def retract(
        self, row_id: str, recorded: Sequence[RecordedEvent], why: str, report: ReleaseReport
    ) -> list[AssertionEvent]:
        if not recorded:
            report.note(f"row {row_id}: {why}, but this timeline never had it")
            return []
        history = _history(recorded)
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
