"""What a release import says: the release itself, its report, and why it was refused."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import msgspec

from timeline.transfer.dataset import Codebook, release_reason

SHOWN_ERRORS = 100  # the report lists this many bad rows, and counts the rest

_LINE = re.compile(r"line (\d+)")


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

    def add(self, other: ReleaseReport) -> None:
        """Count in what a batch's own report counted."""
        self.recorded += other.recorded
        self.revised += other.revised
        self.unchanged += other.unchanged
        self.retracted += other.retracted
        for message in other.errors:
            self.error(message)
        self.bad += other.bad - len(other.errors)
        for message in other.notes:
            self.note(message)
        self.skipped += other.skipped - len(other.notes)

    def sort_errors(self) -> None:
        """The errors in file order (repeated row ids are found after the others)."""
        self.errors.sort(key=lambda m: int(found.group(1)) if (found := _LINE.match(m)) else 0)


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
