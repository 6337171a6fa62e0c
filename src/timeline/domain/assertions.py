"""The assertion aggregate: one dated claim on one timeline.

Knowledge order (DESIGN §1): the state known at T is the fold of the
`AssertionRecorded` event, then the later events whose `reported_at` <= T in
order of (`reported_at`, stream version). The current state is the same fold
over all events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, assert_never

import msgspec
from msgspec import UNSET

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
    ReportedBeforeFirstReport,
    SourceIsWithdrawn,
    SourceNotFound,
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
from timeline.domain.kinds import KINDS
from timeline.domain.occurred import Occurred, parse_occurred
from timeline.domain.sources import Source
from timeline.domain.timelines import Timeline
from timeline.domain.values import (
    PRECISIONS,
    STANCES,
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


# -- validation ---------------------------------------------------------------


def _check_aware(when: datetime, field: str) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidValue(field, "must carry a time zone (RFC 3339, e.g. 2020-10-10T12:00:00Z)")


def _check_kind(kind: str, field: str = "kind") -> None:
    if kind not in KINDS:
        raise InvalidValue(field, f"unknown kind {kind!r}; one of: {', '.join(sorted(KINDS))}")


def _check_summary(summary: str, field: str = "summary") -> None:
    if not summary.strip():
        raise InvalidValue(field, "must not be empty")
    if len(summary) > 2000:
        raise InvalidValue(field, "must be at most 2000 characters")


def _check_place(place: Place | None, field: str = "place") -> None:
    if place is None:
        return
    if not place.name.strip():
        raise InvalidValue(f"{field}.name", "must not be empty")
    if place.precision not in PRECISIONS:
        raise InvalidValue(f"{field}.precision", f"must be one of {', '.join(PRECISIONS)}")
    if (place.lat is None) != (place.lon is None):
        raise InvalidValue(f"{field}.lat", "lat and lon go together: give both or neither")
    if place.lat is not None and not -90 <= place.lat <= 90:
        raise InvalidValue(f"{field}.lat", "must be between -90 and 90")
    if place.lon is not None and not -180 <= place.lon <= 180:
        raise InvalidValue(f"{field}.lon", "must be between -180 and 180")


def _check_actors(actors: Sequence[str], field: str = "actors") -> None:
    for i, actor in enumerate(actors):
        if not actor.strip():
            raise InvalidValue(f"{field}[{i}]", "must not be empty")


def _check_quantities(quantities: Sequence[Quantity], field: str = "quantities") -> None:
    for i, q in enumerate(quantities):
        at = f"{field}[{i}]"
        if not q.measure.strip():
            raise InvalidValue(f"{at}.measure", "must not be empty")
        for bound in ("low", "high", "best"):
            value = getattr(q, bound)
            if value is not None and value < 0:
                raise InvalidValue(f"{at}.{bound}", "must not be negative")
        if q.low is not None and q.high is not None and q.low > q.high:
            raise InvalidValue(f"{at}.low", f"low ({q.low}) exceeds high ({q.high})")
        if q.best is not None and (
            (q.low is not None and q.best < q.low) or (q.high is not None and q.best > q.high)
        ):
            raise InvalidValue(f"{at}.best", f"best ({q.best}) lies outside low..high")
        if q.low is None and q.high is None and q.best is None and not q.qualifier:
            raise InvalidValue(at, "give low, high or a qualifier")


def _check_citations(
    citations: Sequence[Citation], sources: Mapping[str, Source | None], field: str = "citations"
) -> None:
    for i, citation in enumerate(citations):
        source = sources.get(citation.source_id)
        if source is None:
            raise SourceNotFound(citation.source_id, field=f"{field}[{i}].source_id")
        if source.withdrawn:
            raise SourceIsWithdrawn(citation.source_id, field=f"{field}[{i}].source_id")


def _check_reported_after_first(state: Assertion, reported_at: datetime) -> None:
    _check_aware(reported_at, "reported_at")
    if reported_at < state.first_reported_at:
        raise ReportedBeforeFirstReport(state.first_reported_at.isoformat())


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
    _check_kind(cmd.kind)
    _check_summary(cmd.summary)
    _check_place(cmd.place)
    _check_actors(cmd.actors)
    _check_quantities(cmd.quantities)
    _check_citations(cmd.citations, sources)
    _check_aware(cmd.reported_at, "reported_at")
    return [AssertionRecorded(**msgspec.structs.asdict(cmd))]


def revise_assertion(
    state: Assertion | None, cmd: ReviseAssertion, sources: Mapping[str, Source | None]
) -> list[AssertionEvent]:
    """Change some fields of a live assertion, with a reason."""
    if state is None:
        raise AssertionNotFound(cmd.assertion_id)
    if state.status == "retracted":
        raise AssertionIsRetracted(cmd.assertion_id)
    if all(getattr(cmd, name) is UNSET for name in (*REVISABLE, "dataset_row")):
        raise InvalidValue("changes", f"name at least one of: {', '.join(REVISABLE)}")
    # A revision body nests the fields under `changes`; errors name them there.
    if isinstance(cmd.occurred, str):
        parse_occurred(cmd.occurred, field="changes.occurred")
    if isinstance(cmd.kind, str):
        _check_kind(cmd.kind, field="changes.kind")
    if isinstance(cmd.summary, str):
        _check_summary(cmd.summary, field="changes.summary")
    if isinstance(cmd.place, Place):
        _check_place(cmd.place, field="changes.place")
    if isinstance(cmd.actors, tuple):
        _check_actors(cmd.actors, field="changes.actors")
    if isinstance(cmd.quantities, tuple):
        _check_quantities(cmd.quantities, field="changes.quantities")
    _check_citations(cmd.citations, sources)
    _check_reported_after_first(state, cmd.reported_at)
    return [AssertionRevised(**msgspec.structs.asdict(cmd))]


def record_stance(
    state: Assertion | None, cmd: RecordStance, sources: Mapping[str, Source | None]
) -> list[AssertionEvent]:
    """A party confirms, denies or disputes an assertion."""
    if state is None:
        raise AssertionNotFound(cmd.assertion_id)
    if not cmd.party.strip():
        raise InvalidValue("party", "must not be empty")
    if cmd.stance not in STANCES:
        raise InvalidValue("stance", f"must be one of {', '.join(STANCES)}")
    _check_citations(cmd.citations, sources)
    _check_reported_after_first(state, cmd.reported_at)
    return [StanceRecorded(**msgspec.structs.asdict(cmd))]


def retract_assertion(
    state: Assertion | None, cmd: RetractAssertion, sources: Mapping[str, Source | None]
) -> list[AssertionEvent]:
    """Retract an assertion; it cannot be revised afterwards."""
    if state is None:
        raise AssertionNotFound(cmd.assertion_id)
    if state.status == "retracted":
        raise AssertionIsRetracted(cmd.assertion_id)
    if not cmd.reason.strip():
        raise InvalidValue("reason", "say why the assertion is retracted")
    _check_citations(cmd.citations, sources)
    _check_reported_after_first(state, cmd.reported_at)
    return [AssertionRetracted(**msgspec.structs.asdict(cmd))]


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
