"""Valid time: EDTF (ISO 8601-2) strings with inclusive date bounds.

Parsing is the `edtf` library's; this module only turns its answer into a
frozen value with `start <= end` dates used to sort and filter.
"""

from __future__ import annotations

import calendar
import time
from datetime import date
from functools import lru_cache

import edtf
import msgspec

from timeline.domain.errors import InvalidValue

MAX_LENGTH = 64


class Occurred(msgspec.Struct, frozen=True):
    """When a thing happened: its EDTF text and the inclusive dates it spans."""

    text: str
    start: date
    end: date

    @property
    def approximate(self) -> bool:
        return "~" in self.text or "%" in self.text

    @property
    def uncertain(self) -> bool:
        return "?" in self.text or "%" in self.text


def _to_date(value: time.struct_time) -> date:
    return date(value.tm_year, value.tm_mon, value.tm_mday)


def _calendar_bounds(text: str) -> tuple[date, date] | None:
    """Bounds of a plain YYYY, YYYY-MM or YYYY-MM-DD, without the parser; None for other forms."""
    parts = text.split("-")
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    if len(parts[0]) != 4 or any(len(p) != 2 for p in parts[1:]):
        return None
    try:
        if len(parts) == 3:
            day = date.fromisoformat(text)
            return day, day
        year = int(parts[0])
        if len(parts) == 2:
            month = int(parts[1])  # 21-24 are EDTF seasons: left to the parser
            last = calendar.monthrange(year, month)[1]
            return date(year, month, 1), date(year, month, last)
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None  # the parser has the last word


def _qualified_bounds(text: str) -> tuple[date, date] | None:
    """A plain date with one trailing ~, ? or %: its strict bounds are the plain date's."""
    if len(text) > 4 and text[-1] in "~?%":
        return _calendar_bounds(text[:-1])
    return None


def _simple_bounds(text: str) -> tuple[date, date] | None:
    """Bounds of a plain or qualified date, or an interval of two, without the parser.

    Datasets bring these forms by the million (ACLED's `2020-10-08~`, GED's
    `2020-10-01/2020-10-31`); the parser costs tens of milliseconds each.
    A test checks these agree with the parser. None for every other form.
    """
    first, slash, last = text.partition("/")
    one = _calendar_bounds(first) or _qualified_bounds(first)
    if not slash:
        return one
    two = _calendar_bounds(last) or _qualified_bounds(last)
    if one is None or two is None:
        return None
    return one[0], two[1]


@lru_cache(maxsize=16384)
def _bounds(text: str) -> tuple[date, date]:
    """The EDTF parser takes tens of milliseconds a call; dates repeat, so remember them."""
    simple = _simple_bounds(text)
    if simple is not None:
        return simple
    parsed = edtf.parse_edtf(text)
    return _to_date(parsed.lower_strict()), _to_date(parsed.upper_strict())


def parse_occurred(text: str, field: str = "occurred") -> Occurred:
    """Parse an EDTF string, or raise InvalidValue naming `field`."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidValue(field, "must be a non-empty EDTF date such as 2020-10-08")
    if len(text) > MAX_LENGTH:
        raise InvalidValue(field, f"must be at most {MAX_LENGTH} characters")
    try:
        start, end = _bounds(text)
    except Exception as error:  # the parser raises several unrelated types
        raise InvalidValue(
            field, f"{text!r} is not a bounded EDTF date (e.g. 2020-10-08, 2020-10~, 1988/1994)"
        ) from error
    if start > end:
        raise InvalidValue(field, f"{text!r} ends before it starts")
    return Occurred(text=text, start=start, end=end)
