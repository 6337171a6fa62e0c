"""Instants: the one place a time is parsed or made UTC, with its range checked.

Every instant this store keeps is UTC from year 1 to 9998. A time whose offset
carries it past year 1 or 9999 once made UTC (`0001-01-01T00:00:00+14:00`) has no
UTC form at all, and one in year 9999 leaves no room for a day's arithmetic;
both are a ValueError saying why, never an OverflowError from deep inside.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

FIRST_YEAR, LAST_YEAR = 1, 9998

TIME_HELP = "an RFC 3339 time (2020-10-10T12:00:00Z) or a plain date (2020-10-10, its start, UTC)"
OUT_OF_RANGE = f"out of range: use a time from year {FIRST_YEAR} to {LAST_YEAR} (in UTC)"


def to_utc(when: datetime) -> datetime:
    """`when` in UTC; ValueError when it has no zone or lies outside years 1-9998 in UTC."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a time needs a zone offset, e.g. Z or +04:00")
    try:
        utc = when.astimezone(UTC)
    except OverflowError:  # an offset that carries it past year 1 or 9999
        raise ValueError(OUT_OF_RANGE) from None
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise ValueError(OUT_OF_RANGE)
    return utc


def parse_instant(raw: str) -> datetime:
    """An RFC 3339 time or a plain date (its start), in UTC; ValueError saying why otherwise."""
    text = raw.strip()
    try:
        if len(text) == 10:
            return to_utc(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC))
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as error:
        if str(error) == OUT_OF_RANGE:
            raise
        raise ValueError(f"expected {TIME_HELP}") from None
    return to_utc(when)
