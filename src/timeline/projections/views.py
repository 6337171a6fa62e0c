"""What the reads return: the shapes of DESIGN §5, shared by the API and exports.

Field names here are a contract (add freely, rename none).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec

from timeline.domain.values import Citation, DatasetRow, Place, Quantity


class InvalidPageCursor(ValueError):
    """A page cursor this read did not hand out."""


class StanceView(msgspec.Struct, kw_only=True):
    party: str
    stance: str
    statement: str
    citations: list[Citation]
    reported_at: datetime


class AssertionView(msgspec.Struct, kw_only=True):
    id: str
    timeline: str
    version: int
    status: str
    occurred: str
    occurred_start: date
    occurred_end: date
    kind: str
    summary: str
    place: Place | None
    actors: list[str]
    quantities: list[Quantity]
    claimant: str | None
    citations: list[Citation]
    stances: list[StanceView]
    first_reported_at: datetime
    last_reported_at: datetime
    recorded_at: datetime
    # the published dataset row it came from (ACLED, UCDP GED), or None
    dataset_row: DatasetRow | None = None
    # the largest event position this state folds in: a cheap, exact ETag input;
    # the last field, since the write path rewrites it at the end of the stored JSON
    last_position: int = 0


class TimelineFields(msgspec.Struct, kw_only=True):
    """What every view of a timeline begins with, in this order."""

    slug: str
    title: str
    description: str
    region: str
    version: int


class TimelineSummary(TimelineFields, kw_only=True):
    assertion_count: int
    recorded_at: datetime
    last_position: int = 0


class TimelinePage(TimelineFields, kw_only=True):
    """A timeline with one page of its assertions, ordered by occurred_start."""

    assertions: list[AssertionView]
    next_cursor: str | None
    # the largest event position of anything on this timeline (ETag input)
    last_position: int = 0


class TimelineList(msgspec.Struct, kw_only=True):
    timelines: list[TimelineSummary]
    next_cursor: str | None


class SourceView(msgspec.Struct, kw_only=True):
    id: str
    publisher: str
    title: str
    url: str | None
    published_at: datetime | None
    published_at_note: str
    language: str
    via: str | None
    credits: list[str]
    status: Literal["active", "withdrawn"]
    withdrawn_at: datetime | None
    withdrawal_reason: str
    version: int
    recorded_at: datetime
    last_position: int = 0


class ChangeView(msgspec.Struct):
    field: str
    before: Any = msgspec.field(name="from")
    after: Any = msgspec.field(name="to")


class RevisionView(msgspec.Struct, kw_only=True):
    version: int
    event_type: str
    reported_at: datetime
    recorded_at: datetime
    changes: list[ChangeView]
    reason: str | None
    citations: list[Citation]
    state: AssertionView
    # the knowledge interval in which `state` was the latest known: [known_from, known_to)
    known_from: datetime
    known_to: datetime | None


class HistoryView(msgspec.Struct, kw_only=True):
    assertion_id: str
    revisions: list[RevisionView]
    last_position: int = 0


class ChangedAssertion(msgspec.Struct, kw_only=True):
    """One knowledge change to an assertion inside a changes window."""

    assertion_id: str
    version: int
    event_type: str
    reported_at: datetime
    recorded_at: datetime
    changes: list[ChangeView]
    reason: str | None
    state: AssertionView


class ChangesView(msgspec.Struct, kw_only=True):
    """What changed in knowledge on a timeline between `since` and `until`."""

    timeline: str
    since: datetime
    until: datetime
    added: list[ChangedAssertion]
    revised: list[ChangedAssertion]
    stances: list[ChangedAssertion]
    retracted: list[ChangedAssertion]
    unsupported: list[ChangedAssertion]
