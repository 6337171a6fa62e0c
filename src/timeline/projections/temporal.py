"""The temporal parameters every state read takes (DESIGN §1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec

TIME_HELP = "an RFC 3339 time (2020-10-10T12:00:00Z) or a plain date (2020-10-10, its start, UTC)"


def parse_instant(raw: str) -> datetime:
    """An RFC 3339 time or a plain date (its start), in UTC; ValueError saying why otherwise."""
    text = raw.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"expected {TIME_HELP}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a time needs a zone offset, e.g. Z or +04:00")
    try:
        utc = when.astimezone(UTC)
    except OverflowError:  # an offset that carries it past year 1 or 9999
        utc = None
    if utc is None or not 1 <= utc.year <= 9998:
        raise ValueError("out of range: use a time from year 1 to 9998 (in UTC)")
    return utc


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
