"""An assertion's revision history, computed from its events by the domain's own fold.

Pure: no SQL. The rows the projection stores are exactly `revisions(steps)`,
so a `known_at` lookup returns what `domain.assertions.fold(events, known_at)`
returns, by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from timeline.domain.assertions import Assertion, Change, diff, evolve, knowledge_order
from timeline.domain.events import (
    AssertionEvent,
    AssertionRecorded,
    StanceRecorded,
)
from timeline.domain.values import Citation


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One event of an assertion stream, with where and when the store holds it."""

    version: int
    position: int
    event: AssertionEvent
    event_type: str
    schema_version: int
    event_data: str
    recorded_at: datetime


class Revision(msgspec.Struct, frozen=True, kw_only=True):
    """The state after one event in knowledge order, and when it was the latest known."""

    step: Step
    state: Assertion
    changes: list[Change]
    known_from: datetime
    known_to: datetime | None
    # the largest position and latest recorded_at among the events folded in
    last_position: int
    recorded_at: datetime

    @property
    def version(self) -> int:
        return self.step.version


def reason_of(event: AssertionEvent) -> str | None:
    """The reason an event gives, if its kind gives one."""
    if isinstance(event, StanceRecorded):
        return event.statement
    reason: str | None = getattr(event, "reason", None)  # AssertionRecorded has none
    return reason


def citations_of(event: AssertionEvent) -> tuple[Citation, ...]:
    return getattr(event, "citations", ())


def revisions(steps: Iterable[Step]) -> list[Revision]:
    """The revision rows of a stream: one per event, in knowledge order.

    Each row's knowledge interval runs from its event's reported_at to the next
    event's in knowledge order (open for the last). Intervals are clamped to the
    first report: nothing is known of an assertion before it.
    """
    by_version = {step.version: step for step in steps}
    ordered = knowledge_order((step.version, step.event) for step in by_version.values())
    if not ordered:
        return []
    first_reported = ordered[0][1].reported_at
    out: list[Revision] = []
    state: Assertion | None = None
    last_position = 0
    recorded_at: datetime | None = None
    for i, (version, event) in enumerate(ordered):
        step = by_version[version]
        new = evolve(state, event, version)
        last_position = max(last_position, step.position)
        recorded_at = (
            step.recorded_at if recorded_at is None else max(recorded_at, step.recorded_at)
        )
        known_to = None
        if i + 1 < len(ordered):
            known_to = max(ordered[i + 1][1].reported_at, first_reported)
        out.append(
            Revision(
                step=step,
                state=new,
                changes=diff(state, new),
                known_from=max(event.reported_at, first_reported),
                known_to=known_to,
                last_position=last_position,
                recorded_at=recorded_at,
            )
        )
        state = new
    return out


def follows(last: Revision, step: Step) -> bool:
    """Whether `step` sorts after `last`, the latest row, in knowledge order."""
    if isinstance(step.event, AssertionRecorded):
        return False
    if isinstance(last.step.event, AssertionRecorded):
        return True
    return (step.event.reported_at, step.version) > (last.step.event.reported_at, last.version)


def extend(last: Revision, step: Step) -> tuple[Revision, Revision]:
    """`last` with its interval cut, and the row `step` adds after it: what `revisions` gives.

    Only for a step that `follows` the last row; the rows before it stay as they are.
    """
    first_reported = last.state.first_reported_at
    known_from = max(step.event.reported_at, first_reported)
    state = evolve(last.state, step.event, step.version)
    new = Revision(
        step=step,
        state=state,
        changes=diff(last.state, state),
        known_from=known_from,
        known_to=None,
        last_position=max(last.last_position, step.position),
        recorded_at=max(last.recorded_at, step.recorded_at),
    )
    return msgspec.structs.replace(last, known_to=known_from), new
