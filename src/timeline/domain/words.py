"""The viewer's words: EDTF dates, quantities, kinds, precisions and times as a reader says them.

Pure functions of the API's values, so the pages and the exports say the same
thing ("about 8 October 2020", "more than 300 killed") and tests pin them.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from timeline.domain.kinds import KINDS
from timeline.domain.values import Quantity

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# One EDTF date of the forms writers use: YYYY, YYYY-MM or YYYY-MM-DD, then a
# qualifier: ~ approximate, ? uncertain, % both.
_DATE = re.compile(r"^(?P<y>-?\d{4})(?:-(?P<m>\d{2}))?(?:-(?P<d>\d{2}))?(?P<q>[~?%]?)$")
_QUALIFIER = {"": "", "~": "about ", "?": "perhaps ", "%": "perhaps about "}

PRECISION_WORDS = {
    "exact": "exact location",
    "town": "in the town",
    "near_town": "near the town",
    "region": "somewhere in the region",
    "country": "somewhere in the country",
}

STATUS_WORDS = {
    "active": "active",
    "contested": "contested",
    "retracted": "retracted",
    "unsupported": "unsupported: every source it cites was withdrawn",
}


class _Day:
    """One parsed EDTF date: its parts and qualifier."""

    def __init__(self, year: int, month: int | None, day: int | None, qualifier: str) -> None:
        self.year, self.month, self.day, self.qualifier = year, month, day, qualifier

    def words(self, *, year: bool = True, month: bool = True) -> str:
        parts = []
        if self.day is not None:
            parts.append(str(self.day))
        if self.month is not None and (month or self.day is None):
            parts.append(MONTHS[self.month - 1])
        if year or self.month is None:
            parts.append(str(self.year))
        return " ".join(parts)


def _parse(text: str) -> _Day | None:
    match = _DATE.match(text)
    if match is None:
        return None
    month, day = match["m"], match["d"]
    if month is not None and not 1 <= int(month) <= 12:
        return None
    return _Day(
        int(match["y"]), int(month) if month else None, int(day) if day else None, match["q"]
    )


def occurred_words(occurred: str, start: date, end: date) -> str:
    """An EDTF `occurred` in words; forms not named here fall back to its bounds."""
    if "/" not in occurred:
        one = _parse(occurred)
        if one is not None:
            return _QUALIFIER[one.qualifier] + one.words()
        return _between(start, end)
    left, right = occurred.split("/", 1)
    if left in ("", ".."):
        later = _parse(right)
        return f"until {later.words()}" if later else _between(start, end)
    if right in ("", ".."):
        earlier = _parse(left)
        return f"from {earlier.words()}" if earlier else _between(start, end)
    first, last = _parse(left), _parse(right)
    if first is None or last is None:
        return _between(start, end)
    same_year = first.year == last.year and first.month is not None
    same_month = same_year and first.month == last.month and first.day is not None
    head = _QUALIFIER[first.qualifier] + first.words(year=not same_year, month=not same_month)
    return f"{head} – {_QUALIFIER[last.qualifier]}{last.words()}"


def _between(start: date, end: date) -> str:
    if start == end:
        return day_words(start)
    return f"between {day_words(start)} and {day_words(end)}"


def day_words(day: date) -> str:
    """10 October 2020."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def time_words(when: datetime) -> str:
    """10 October 2020, 23:59 UTC."""
    return f"{day_words(when.date())}, {when:%H:%M} UTC"


def is_range(start: date, end: date) -> bool:
    """True when `occurred` covers more than one day, so it is drawn as a range."""
    return end > start


def number(value: int) -> str:
    return f"{value:,}"


def quantity_words(quantity: Quantity) -> str:
    """'more than 300 killed', 'about 70,000 displaced', '200–300 injured'."""
    low, high, about = quantity.low, quantity.high, quantity.approximate
    prefix = "about " if about else ""
    measure = quantity.measure.replace("_", " ")
    if low is not None and high is not None:
        amount = (
            f"{prefix}{number(low)}" if low == high else f"{prefix}{number(low)}–{number(high)}"
        )
    elif low is not None:
        amount = f"more than {prefix}{number(low)}"
    elif high is not None:
        amount = f"up to {prefix}{number(high)}"
    else:
        amount = "an unknown number"
    return f"{amount} {measure}"


def kind_words(kind: str) -> str:
    """The taxonomy's label for `kind`; an unknown one with its underscores as spaces."""
    info = KINDS.get(kind)
    return info.label if info is not None else kind.replace("_", " ").capitalize()


def precision_words(precision: str) -> str:
    return PRECISION_WORDS.get(precision, precision.replace("_", " "))


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


EVENT_WORDS = {
    "AssertionRecorded": "first recorded",
    "AssertionRevised": "revised",
    "StanceRecorded": "a stance recorded",
    "AssertionRetracted": "retracted",
    "AssertionUnsupported": "left unsupported (its sources were withdrawn)",
}


def event_words(event_type: str) -> str:
    return EVENT_WORDS.get(event_type, event_type)


def value_words(field: str, value: object) -> str:
    """A changed field's value as a reader says it (a diff's `from` or `to`)."""
    if value is None or value == [] or value == "":
        return "—"
    if field == "quantities" and isinstance(value, list):
        return "; ".join(
            quantity_words(Quantity(**q)) if isinstance(q, dict) else str(q) for q in value
        )
    if field == "place" and isinstance(value, dict):
        precision = precision_words(str(value.get("precision", "")))
        return f"{value.get('name', '')} ({precision})"
    if field == "kind" and isinstance(value, str):
        return kind_words(value)
    if isinstance(value, list):
        return ", ".join(value_words(field, v) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)
