"""Both codebooks refuse a cell holding U+0000 and name that cell, before reading any other."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from timeline.transfer import acled, ucdp
from timeline.transfer.csvrows import Row, RowError
from timeline.transfer.dataset import Mapped

DATA = Path(__file__).parents[1] / "data"


def _first_row(path: Path) -> Row:
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    header = tuple(next(reader))
    return Row(2, dict(zip(header, next(reader), strict=True)), header)


@pytest.mark.parametrize(
    ("sample", "parse", "column"),
    [
        ("acled-sample.csv", acled.parse_row, "notes"),
        ("ucdp-ged-sample.csv", ucdp.parse_row, "source_headline"),
    ],
)
def test_a_cell_holding_nul_is_refused_by_name(
    sample: str, parse: Callable[[Row], Mapped], column: str
) -> None:
    row = _first_row(DATA / sample)
    assert isinstance(parse(row), Mapped)  # the row as it is maps
    row.cells[column] = row.cells[column] + "\x00"
    with pytest.raises(RowError) as raised:
        parse(row)
    assert raised.value.name == column
    assert raised.value.reason == "holds U+0000"
