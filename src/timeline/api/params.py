"""Query parameters shared by the reads: the temporal ones of DESIGN §1, filters, paging.

Every time parameter takes an RFC 3339 time or a plain date; a date means its
start, UTC. A value that is neither is a 400 naming the parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import Parameter

from timeline.api.errors import ApiProblem
from timeline.domain.kinds import KINDS
from timeline.projections.temporal import TIME_HELP, Temporal, TimelineFilters, parse_instant


def parse_time(raw: str, name: str) -> datetime:
    """An RFC 3339 time or a plain date (its start, UTC); a 400 naming `name` otherwise."""
    try:
        return parse_instant(raw)
    except ValueError as error:
        raise ApiProblem(400, "invalid-time", str(error), field=name) from None


def _opt(raw: str | None, name: str) -> datetime | None:
    return None if raw is None or raw == "" else parse_time(raw, name)


def _time_param(description: str, example: str) -> Any:
    return Parameter(
        description=f"{description}: {TIME_HELP}", examples=[Example(value=example)], required=False
    )


def _example(value: object) -> Example:
    return Example(value=value)


async def provide_temporal(
    known_at: Annotated[
        str | None,
        _time_param("knowledge as of this time (reports published later are absent)", "2020-10-12"),
    ] = None,
    recorded_at: Annotated[
        str | None,
        _time_param(
            "what this store held at this time (audit); pins the answer", "2026-01-01T00:00:00Z"
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        _time_param(
            "shorthand for known_at=T&occurred_to=T: the conflict as it looked that day",
            "2020-10-10",
        ),
    ] = None,
    occurred_from: Annotated[
        str | None, _time_param("only what happened on or after this day (overlap)", "2020-09-27")
    ] = None,
    occurred_to: Annotated[
        str | None, _time_param("only what happened on or before this day (overlap)", "2020-10-10")
    ] = None,
) -> Temporal:
    """The temporal parameters of DESIGN §1 as one Temporal."""
    start = _opt(occurred_from, "occurred_from")
    end = _opt(occurred_to, "occurred_to")
    return Temporal.of(
        known_at=_opt(known_at, "known_at"),
        recorded_at=_opt(recorded_at, "recorded_at"),
        occurred_from=start.date() if start else None,
        occurred_to=end.date() if end else None,
        as_of=_opt(as_of, "as_of"),
    )


Limit = Annotated[
    int, Parameter(ge=1, le=500, description="page size (1-500)", examples=[_example(50)])
]
Cursor = Annotated[
    str | None,
    Parameter(max_length=500, description="the `next_cursor` of the previous page", required=False),
]


def _filter(description: str, example: object = None, max_length: int | None = None) -> Any:
    examples = None if example is None else [_example(example)]
    return Parameter(
        max_length=max_length, description=description, examples=examples, required=False
    )


_STATUSES = "only these statuses (repeatable): active, contested, retracted, unsupported"


async def provide_filters(
    temporal: NamedDependency[Temporal],
    kind: Annotated[
        list[str] | None, _filter("only these kinds (repeatable)", ["shelling"])
    ] = None,
    actor: Annotated[str | None, _filter("only with this actor", "Azerbaijan", 300)] = None,
    place: Annotated[
        str | None, _filter("only at this place (by name)", "Stepanakert", 300)
    ] = None,
    status: Annotated[list[str] | None, _filter(_STATUSES)] = None,
    q: Annotated[
        str | None,
        _filter("full-text search over summaries, quotes and statements", "cathedral", 500),
    ] = None,
) -> TimelineFilters:
    """The timeline filters of DESIGN §5 as one TimelineFilters.

    `temporal` is not used: asking for it makes Litestar resolve this dependency
    after that one, not beside it in a task group (tasks, cancel scopes, events),
    which cost a cached page a fifth of its CPU (py-spy). First, so that its
    parameters come before these in the OpenAPI document.
    """
    bad = sorted(set(status or ()) - {"active", "contested", "retracted", "unsupported"})
    if bad:
        raise ApiProblem(400, "invalid-filter", f"unknown status {bad[0]!r}", field="status")
    unknown = sorted(set(kind or ()) - KINDS.keys())
    if unknown:
        known = ", ".join(KINDS)
        raise ApiProblem(
            400, "invalid-filter", f"unknown kind {unknown[0]!r}: one of {known}", field="kind"
        )
    return TimelineFilters(
        kind=tuple(kind or ()),
        actor=actor or None,
        place=place or None,
        status=tuple(status or ()),
        q=q or None,
    )


def is_past(temporal: Temporal) -> bool:
    """True when the answer is pinned to a past system time, so it never changes."""
    return temporal.recorded_at is not None and temporal.recorded_at < datetime.now(UTC)
