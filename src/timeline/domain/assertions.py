"""The assertion aggregate: one dated claim on one timeline.

Knowledge order (DESIGN §1): the state known at T is the fold of the
`AssertionRecorded` event, then the later events whose `reported_at` <= T in
order of (`reported_at`, stream version). The current state is the same fold
over all events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, assert_never

import msgspec
from msgspec import UNSET

from timeline.domain import checks
from timeline.domain.commands import (
    RecordAssertion,
    RecordStance,
    RetractAssertion,
    ReviseAssertion,
)
from timeline.domain.errors import (
    AssertionIsRetracted,
    AssertionNotFound,
    InvalidValue,
    TimelineNotFound,
)
from timeline.domain.events import (
    AssertionEvent,
    AssertionRecorded,
    AssertionRetracted,
    AssertionRevised,
    CitedSourceWithdrawn,
    StanceRecorded,
)
from timeline.domain.occurred import Occurred, parse_occurred
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.domain.values import (
    Citation,
    DatasetRow,
    Place,
    Quantity,
    Stance,
    Status,
)

REVISABLE = ("occurred", "kind", "summary", "place", "actors", "quantities", "claimant")


class Assertion(msgspec.Struct, frozen=True, kw_only=True):
    """An assertion's state after some of its events, in knowledge order."""

    assertion_id: str
    timeline: str
    occurred: Occurred
    kind: str
    summary: str
    place: Place | None
    actors: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    claimant: str | None
    citations: tuple[Citation, ...]
    stances: tuple[Stance, ...] = ()
    withdrawn_sources: tuple[str, ...] = ()
    retraction_reason: str | None = None
    status: Status = "active"
    version: int = 1
    first_reported_at: datetime
    last_reported_at: datetime
    dataset_row: DatasetRow | None = None


class Change(msgspec.Struct, frozen=True):
    """One field's change between two states."""

    field: str
    before: Any = msgspec.field(name="from")
    after: Any = msgspec.field(name="to")


def _status(state: Assertion) -> Status:
    if state.retraction_reason is not None:
        return "retracted"
    cited = {c.source_id for c in state.citations}
    if cited and cited <= set(state.withdrawn_sources):
        return "unsupported"
    latest: dict[str, str] = {}
    for stance in state.stances:
        latest[stance.party] = stance.stance
    if any(s in ("denies", "disputes") for s in latest.values()):
        return "contested"
    return "active"


def _merge(existing: tuple[Citation, ...], new: Iterable[Citation]) -> tuple[Citation, ...]:
    merged = list(existing)
    for citation in new:
        if citation not in merged:
            merged.append(citation)
    return tuple(merged)


def evolve(state: Assertion | None, event: AssertionEvent, version: int) -> Assertion:
    """The assertion after `event`, which is stream version `version`."""
    match event:
        case AssertionRecorded():
            new = Assertion(
                assertion_id=event.assertion_id,
                timeline=event.timeline,
                occurred=parse_occurred(event.occurred),
                kind=event.kind,
                summary=event.summary,
                place=event.place,
                actors=event.actors,
                quantities=event.quantities,
                claimant=event.claimant,
                citations=event.citations,
                version=version,
                dataset_row=event.dataset_row,
                first_reported_at=event.reported_at,
                last_reported_at=event.reported_at,
            )
            return msgspec.structs.replace(new, status=_status(new))
    assert state is not None, f"{type(event).__name__} before AssertionRecorded"
    changes: dict[str, Any] = {
        "version": max(state.version, version),
        "last_reported_at": max(state.last_reported_at, event.reported_at),
    }
    match event:
        case AssertionRevised():
            for name in REVISABLE:
                value = getattr(event, name)
                if value is not UNSET:
                    changes[name] = parse_occurred(value) if name == "occurred" else value
            if event.dataset_row is not UNSET:
                changes["dataset_row"] = event.dataset_row
            changes["citations"] = _merge(state.citations, event.citations)
        case StanceRecorded():
            stance = Stance(
                party=event.party,
                stance=event.stance,
                statement=event.statement,
                citations=event.citations,
                reported_at=event.reported_at,
            )
            changes["stances"] = (*state.stances, stance)
        case AssertionRetracted():
            changes["retraction_reason"] = event.reason
        case CitedSourceWithdrawn():
            if event.source_id not in state.withdrawn_sources:
                changes["withdrawn_sources"] = (*state.withdrawn_sources, event.source_id)
        case _:
            assert_never(event)
    new = msgspec.structs.replace(state, **changes)
    return msgspec.structs.replace(new, status=_status(new))


def knowledge_order(
    history: Iterable[tuple[int, AssertionEvent]],
) -> list[tuple[int, AssertionEvent]]:
    """The events in knowledge order: the recording first, then (reported_at, version)."""
    return sorted(
        history,
        key=lambda item: (
            not isinstance(item[1], AssertionRecorded),
            item[1].reported_at,
            item[0],
        ),
    )


def fold(
    history: Iterable[tuple[int, AssertionEvent]], known_at: datetime | None = None
) -> Assertion | None:
    """The state known at `known_at` (or now) from (version, event) pairs in any order."""
    state: Assertion | None = None
    for version, event in knowledge_order(history):
        if known_at is not None and event.reported_at > known_at:
            if state is None:
                return None  # absent before its first report
            continue
        state = evolve(state, event, version)
    return state


def diff(before: Assertion | None, after: Assertion) -> list[Change]:
    """The fields that differ between two states, as (field, from, to)."""
    fields = (*REVISABLE, "dataset_row", "citations", "stances", "status", "withdrawn_sources")
    changes: list[Change] = []
    for name in fields:
        old = None if before is None else getattr(before, name)
        new = getattr(after, name)
        if old != new:
            changes.append(Change(name, _plain(old), _plain(new)))
    return changes


def _plain(value: Any) -> Any:
    if isinstance(value, Occurred):
        return value.text
    return msgspec.to_builtins(value)


# -- decisions ----------------------------------------------------------------


def record_assertion(
    state: Assertion | None,
    cmd: RecordAssertion,
    timeline: Timeline | None,
    sources: Mapping[str, Source | None],
) -> list[AssertionEvent]:
    """Record a new assertion on an existing timeline, citing existing live sources."""
    if timeline is None:
        raise TimelineNotFound(cmd.timeline, field="timeline")
    if state is not None:
        raise InvalidValue("assertion_id", f"assertion {cmd.assertion_id} exists already")
    parse_occurred(cmd.occurred)
    checks.check_kind(cmd.kind)
    checks.check_summary(cmd.summary)
    checks.check_place(cmd.place)
    checks.check_actors(cmd.actors)
    checks.check_quantities(cmd.quantities)
    checks.check_citations(cmd.citations, sources)
    checks.check_aware(cmd.reported_at, "reported_at")
    return [AssertionRecorded(**msgspec.structs.asdict(cmd))]


def _live(state: Assertion | None, assertion_id: str) -> Assertion:
    """The assertion a revision or retraction changes: it exists and is not retracted."""
    if state is None:
        raise AssertionNotFound(assertion_id)
    if state.status == "retracted":
        raise AssertionIsRetracted(assertion_id)
    return state


def _later(
    state: Assertion,
    cmd: ReviseAssertion | RecordStance | RetractAssertion,
    sources: Mapping[str, Source | None],
    event: type[AssertionRevised | StanceRecorded | AssertionRetracted],
) -> list[AssertionEvent]:
    """What every later event checks last: its citations, and that it is no earlier."""
    checks.check_citations(cmd.citations, sources)
    checks.check_reported_after(state.first_reported_at, cmd.reported_at)
    return [event(**msgspec.structs.asdict(cmd))]


def revise_assertion(
    state: Assertion | None, cmd: ReviseAssertion, sources: Mapping[str, Source | None]
) -> list[AssertionEvent]:
    """Change some fields of a live assertion, with a reason."""
    live = _live(state, cmd.assertion_id)
    if all(getattr(cmd, name) is UNSET for name in (*REVISABLE, "dataset_row")):
        raise InvalidValue("changes", f"name at least one of: {', '.join(REVISABLE)}")
    checks.check_changes(cmd)
    return _later(live, cmd, sources, AssertionRevised)


def record_stance(
    state: Assertion | None, cmd: RecordStance, sources: Mapping[str, Source | None]
) -> list[AssertionEvent]:
    """A party confirms, denies or disputes an assertion."""
    if state is None:
        raise AssertionNotFound(cmd.assertion_id)
    checks.check_stance(cmd.party, cmd.stance)
    return _later(state, cmd, sources, StanceRecorded)


def retract_assertion(
    state: Assertion | None, cmd: RetractAssertion, sources: Mapping[str, Source | None]
) -> list[AssertionEvent]:
    """Retract an assertion; it cannot be revised afterwards."""
    live = _live(state, cmd.assertion_id)
    if not cmd.reason.strip():
        raise InvalidValue("reason", "say why the assertion is retracted")
    return _later(live, cmd, sources, AssertionRetracted)


def react_to_withdrawal(
    state: Assertion, source_id: str, reason: str, withdrawn_at: datetime
) -> list[AssertionEvent]:
    """The policy: an assertion citing a withdrawn source hears of it.

    Knowledge time is the withdrawal's, but never before the assertion's first
    report (the rule every assertion event obeys).
    """
    if source_id in state.withdrawn_sources:
        return []
    if source_id not in {c.source_id for c in state.citations}:
        return []
    return [
        CitedSourceWithdrawn(
            assertion_id=state.assertion_id,
            source_id=source_id,
            reason=reason,
            reported_at=max(withdrawn_at, state.first_reported_at),
        )
    ]
