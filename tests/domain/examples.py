"""Ready-made events and commands for the domain tests: the seed article's world."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from timeline.domain import assertions, sources, timelines
from timeline.domain.commands import RecordAssertion
from timeline.domain.events import (
    AssertionEvent,
    AssertionRecorded,
    SourceRegistered,
    SourceWithdrawn,
    TimelineOpened,
)
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.domain.values import Citation, Quantity

SLUG = "nagorno-karabakh-2020"
ASSERTION = "a-1"


def at(day: int, month: int = 10) -> datetime:
    """Noon UTC on a day of 2020."""
    return datetime(2020, month, day, 12, tzinfo=UTC)


def timeline() -> Timeline:
    state = timelines.fold([TimelineOpened(slug=SLUG, title="Nagorno-Karabakh 2020")])
    assert state is not None
    return state


def source(source_id: str = "bbc", *, withdrawn: bool = False) -> Source:
    events: list[Any] = [SourceRegistered(source_id=source_id, publisher="BBC", title="Report")]
    if withdrawn:
        events.append(SourceWithdrawn(source_id=source_id, withdrawn_at=at(20)))
    state = sources.fold(events)
    assert state is not None
    return state


def record_cmd(**changes: Any) -> RecordAssertion:
    fields: dict[str, Any] = {
        "assertion_id": ASSERTION,
        "timeline": SLUG,
        "occurred": "2020-09-27",
        "kind": "armed_clash",
        "summary": "Fighting began along the line of contact",
        "actors": ("Armenia", "Azerbaijan"),
        "citations": (Citation(source_id="bbc", quote="fighting broke out"),),
        "reported_at": at(5),
    }
    fields.update(changes)
    return RecordAssertion(**fields)


def recorded(**changes: Any) -> AssertionRecorded:
    fields: dict[str, Any] = {
        "assertion_id": ASSERTION,
        "timeline": SLUG,
        "occurred": "2020-09-27",
        "kind": "casualties",
        "summary": "Soldiers killed",
        "quantities": (Quantity(measure="killed", low=200, qualifier="more than 200"),),
        "citations": (Citation(source_id="bbc"),),
        "reported_at": at(5),
    }
    fields.update(changes)
    return AssertionRecorded(**fields)


def fold(*events: AssertionEvent, known_at: datetime | None = None) -> assertions.Assertion:
    """The state after `events`, numbered 1, 2, … in the order given."""
    state = assertions.fold(enumerate(events, start=1), known_at)
    assert state is not None
    return state
