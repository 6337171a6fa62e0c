"""The temporal parameters every state read takes (DESIGN §1)."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

# Parsed in the domain, in one place with its range checked; named here for the reads.
from timeline.domain.instants import TIME_HELP as TIME_HELP
from timeline.domain.instants import parse_instant as parse_instant


class Temporal(msgspec.Struct, frozen=True, kw_only=True):
    """known_at: knowledge as of T; recorded_at: what this store held at T;
    occurred_from / occurred_to: a window on valid time (overlap)."""

    known_at: datetime | None = None
    recorded_at: datetime | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None

    @classmethod
    def of(
        cls,
        *,
        known_at: datetime | None = None,
        recorded_at: datetime | None = None,
        occurred_from: date | None = None,
        occurred_to: date | None = None,
        as_of: datetime | None = None,
    ) -> Temporal:
        """`as_of=T` is the historian's shorthand for known_at=T & occurred_to=T."""
        if as_of is not None:
            known_at = as_of if known_at is None else min(known_at, as_of)
            day = as_of.date()
            occurred_to = day if occurred_to is None else min(occurred_to, day)
        return cls(
            known_at=known_at,
            recorded_at=recorded_at,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
        )

    @property
    def is_current(self) -> bool:
        return self.known_at is None and self.recorded_at is None


class TimelineFilters(msgspec.Struct, frozen=True, kw_only=True):
    kind: tuple[str, ...] = ()
    actor: str | None = None
    place: str | None = None
    status: tuple[str, ...] = ()
    q: str | None = None


NOW = Temporal()

NO_FILTERS = TimelineFilters()
