"""The viewer says dates, figures and kinds in words."""

from __future__ import annotations

from datetime import date

import pytest

from timeline.domain.values import Quantity
from timeline.domain.words import kind_words, occurred_words, quantity_words, value_words


@pytest.mark.parametrize(
    ("occurred", "start", "end", "words"),
    [
        ("2020-09-27", date(2020, 9, 27), date(2020, 9, 27), "27 September 2020"),
        ("2020-10-08~", date(2020, 10, 8), date(2020, 10, 8), "about 8 October 2020"),
        ("2020-10-08?", date(2020, 10, 8), date(2020, 10, 8), "perhaps 8 October 2020"),
        ("2020-10", date(2020, 10, 1), date(2020, 10, 31), "October 2020"),
        ("1994", date(1994, 1, 1), date(1994, 12, 31), "1994"),
        (
            "2020-09-27/2020-10-10",
            date(2020, 9, 27),
            date(2020, 10, 10),
            "27 September – 10 October 2020",
        ),
        ("2020-10-09/2020-10-10", date(2020, 10, 9), date(2020, 10, 10), "9 – 10 October 2020"),
        ("1988/1994", date(1988, 1, 1), date(1994, 12, 31), "1988 – 1994"),
        ("2020-09-27/..", date(2020, 9, 27), date(9999, 12, 31), "from 27 September 2020"),
        (
            "199X",
            date(1990, 1, 1),
            date(1999, 12, 31),
            "between 1 January 1990 and 31 December 1999",
        ),
    ],
)
def test_occurred_is_said_in_words(occurred: str, start: date, end: date, words: str) -> None:
    assert occurred_words(occurred, start, end) == words


@pytest.mark.parametrize(
    ("quantity", "words"),
    [
        (Quantity(measure="killed", low=300), "more than 300 killed"),
        (
            Quantity(measure="displaced", low=70000, high=70000, approximate=True),
            "about 70,000 displaced",
        ),
        (Quantity(measure="injured", low=200, high=300), "200–300 injured"),
        (Quantity(measure="missing", high=50), "up to 50 missing"),
        (Quantity(measure="killed", low=1, high=1), "1 killed"),
    ],
)
def test_quantities_are_said_as_ranges(quantity: Quantity, words: str) -> None:
    assert quantity_words(quantity) == words


def test_kinds_are_said_with_the_taxonomys_labels() -> None:
    assert kind_words("attack_on_civilians") == "Attack"
    assert kind_words("ceasefire_violation") == "Ceasefire violation"
    assert kind_words("some_new_kind") == "Some new kind"


def test_a_changed_figure_is_said_in_words() -> None:
    before = [
        {"measure": "killed", "low": 200, "high": None, "approximate": False, "qualifier": ""}
    ]
    assert value_words("quantities", before) == "more than 200 killed"
    assert value_words("summary", None) == "—"
