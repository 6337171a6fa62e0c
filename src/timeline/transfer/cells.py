"""A dataset row's cells read as the codebooks type them, each failure naming its cell."""

from __future__ import annotations

import math
from collections.abc import Collection

from timeline.transfer.csvrows import Row

LARGEST = 2**31 - 1  # the codebooks' counts and years fit a 32-bit integer


def no_nul(row: Row) -> None:
    """RowError naming the first cell that holds U+0000 (PostgreSQL text refuses it)."""
    for name, value in row.cells.items():
        if "\x00" in value:
            raise row.cell_error(name, "holds U+0000")


def integer(row: Row, name: str, *, minimum: int = 0) -> int:
    """A whole number from `minimum` to LARGEST."""
    raw = row.cells[name].strip()
    try:
        value = int(raw)
    except ValueError:
        raise row.cell_error(name, f"{raw!r} is not a whole number") from None
    if not minimum <= value <= LARGEST:
        raise row.cell_error(name, f"{value} is out of range")
    return value


def coordinate(row: Row, name: str, bound: float) -> float | None:
    """A latitude or longitude within ±bound; None for an empty cell."""
    raw = row.cells[name].strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise row.cell_error(name, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise row.cell_error(name, f"{value} is outside -{bound}..{bound}")
    return value


def choice(row: Row, name: str, allowed: Collection[str], *, empty: bool = False) -> str:
    """One of the codebook's values (or empty, when `empty`); the error shows the first eight."""
    value = row.cells[name].strip()
    if (empty and value == "") or value in allowed:
        return value
    values = list(allowed)
    shown = ", ".join(values[:8]) + (", ..." if len(values) > 8 else "")
    raise row.cell_error(name, f"{value!r} is not one of {shown}")
