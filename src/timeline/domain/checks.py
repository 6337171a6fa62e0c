"""The checks an assertion's fields pass before any event is written.

Each raises `InvalidValue` (or a not-found / withdrawn error for a citation)
naming the field, under the prefix the caller gives (`changes.` in a revision).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from timeline.domain.commands import ReviseAssertion
from timeline.domain.errors import (
    InvalidValue,
    ReportedBeforeFirstReport,
    SourceIsWithdrawn,
    SourceNotFound,
)
from timeline.domain.kinds import KINDS
from timeline.domain.occurred import parse_occurred
from timeline.domain.sources import Source
from timeline.domain.values import PRECISIONS, STANCES, Citation, Place, Quantity


def check_aware(when: datetime, field: str) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidValue(field, "must carry a time zone (RFC 3339, e.g. 2020-10-10T12:00:00Z)")


def check_kind(kind: str, field: str = "kind") -> None:
    if kind not in KINDS:
        raise InvalidValue(field, f"unknown kind {kind!r}; one of: {', '.join(sorted(KINDS))}")


def check_summary(summary: str, field: str = "summary") -> None:
    if not summary.strip():
        raise InvalidValue(field, "must not be empty")
    if len(summary) > 2000:
        raise InvalidValue(field, "must be at most 2000 characters")


def check_place(place: Place | None, field: str = "place") -> None:
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


def check_actors(actors: Sequence[str], field: str = "actors") -> None:
    for i, actor in enumerate(actors):
        if not actor.strip():
            raise InvalidValue(f"{field}[{i}]", "must not be empty")


def check_quantities(quantities: Sequence[Quantity], field: str = "quantities") -> None:
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


def check_citations(
    citations: Sequence[Citation], sources: Mapping[str, Source | None], field: str = "citations"
) -> None:
    for i, citation in enumerate(citations):
        source = sources.get(citation.source_id)
        if source is None:
            raise SourceNotFound(citation.source_id, field=f"{field}[{i}].source_id")
        if source.withdrawn:
            raise SourceIsWithdrawn(citation.source_id, field=f"{field}[{i}].source_id")


def check_reported_after(first_reported_at: datetime, reported_at: datetime) -> None:
    """A later event is known no earlier than the assertion's first report."""
    check_aware(reported_at, "reported_at")
    if reported_at < first_reported_at:
        raise ReportedBeforeFirstReport(first_reported_at.isoformat())


# What a revision may set: the field, the type it has when set, and its check.
_CHANGES: tuple[tuple[str, type, Callable[..., object]], ...] = (
    ("occurred", str, parse_occurred),
    ("kind", str, check_kind),
    ("summary", str, check_summary),
    ("place", Place, check_place),
    ("actors", tuple, check_actors),
    ("quantities", tuple, check_quantities),
)


def check_changes(cmd: ReviseAssertion) -> None:
    """The fields a revision sets; its body nests them under `changes`, errors name them there."""
    for name, kind, check in _CHANGES:
        value = getattr(cmd, name)
        if isinstance(value, kind):
            check(value, field=f"changes.{name}")


def check_stance(party: str, stance: str) -> None:
    if not party.strip():
        raise InvalidValue("party", "must not be empty")
    if stance not in STANCES:
        raise InvalidValue("stance", f"must be one of {', '.join(STANCES)}")
