"""Valid time: EDTF strings parse to ordered inclusive bounds, and keep their text."""

from __future__ import annotations

import calendar
from datetime import date

import edtf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timeline.domain.errors import InvalidValue
from timeline.domain.occurred import parse_occurred

QUALIFIERS = st.sampled_from(["", "~", "?", "%"])
# The EDTF grammar is slow to parse (~20 ms); a few dozen examples cover the shapes.
FEW = settings(max_examples=40)


@st.composite
def dates(draw: st.DrawFn) -> tuple[str, date, date]:
    """An EDTF date at day, month or year precision, with its expected bounds."""
    year = draw(st.integers(1000, 2999))
    precision = draw(st.sampled_from(["day", "month", "year"]))
    qualifier = draw(QUALIFIERS)
    if precision == "year":
        return f"{year}{qualifier}", date(year, 1, 1), date(year, 12, 31)
    month = draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    if precision == "month":
        return f"{year}-{month:02d}{qualifier}", date(year, month, 1), date(year, month, last)
    day = draw(st.integers(1, last))
    return (
        f"{year}-{month:02d}-{day:02d}{qualifier}",
        date(year, month, day),
        date(year, month, day),
    )


@FEW
@given(dates())
def test_a_date_spans_its_whole_day_month_or_year(example: tuple[str, date, date]) -> None:
    text, start, end = example
    occurred = parse_occurred(text)
    assert (occurred.text, occurred.start, occurred.end) == (text, start, end)
    # The qualifier is kept and read back: ~ approximate, ? uncertain, % both.
    assert occurred.approximate == (text[-1] in "~%")
    assert occurred.uncertain == (text[-1] in "?%")


@FEW
@given(dates(), dates())
def test_an_interval_spans_from_its_first_start_to_its_last_end(
    first: tuple[str, date, date], second: tuple[str, date, date]
) -> None:
    (a, a_start, a_end), (b, _, b_end) = sorted([first, second], key=lambda d: d[1:])
    if a_end > b_end:  # e.g. 2020/2020-05: the first end is later; not a valid interval
        return
    occurred = parse_occurred(f"{a}/{b}")
    assert occurred.text == f"{a}/{b}"
    assert (occurred.start, occurred.end) == (a_start, b_end)


@FEW
@given(dates(), dates())
def test_an_interval_that_ends_before_it_starts_names_occurred(
    first: tuple[str, date, date], second: tuple[str, date, date]
) -> None:
    (a, _, a_end), (b, b_start, _) = sorted([first, second], key=lambda d: d[1:])
    if b_start > a_end:
        with pytest.raises(InvalidValue) as error:
            parse_occurred(f"{b}/{a}")
        assert error.value.field == "occurred"


@given(st.text(max_size=30))
def test_any_text_either_parses_to_ordered_bounds_or_is_refused_naming_occurred(
    text: str,
) -> None:
    try:
        occurred = parse_occurred(text)
    except InvalidValue as error:
        assert error.field == "occurred"  # noqa: PT017 (either outcome is a pass)
    else:
        assert occurred.start <= occurred.end
        assert occurred.text == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "yesterday",
        "2020-13",
        "2020-02-30",
        "2020-10-08~~",
        "../2020",
        "2020/..",
        "2020-10-10/2020-10-01",
        "2" * 65,
    ],
)
def test_invalid_edtf_is_refused_naming_occurred(text: str) -> None:
    with pytest.raises(InvalidValue) as error:
        parse_occurred(text)
    assert error.value.field == "occurred"


def test_the_field_named_is_the_one_the_caller_gives() -> None:
    with pytest.raises(InvalidValue) as error:
        parse_occurred("nonsense", field="changes.occurred")
    assert error.value.field == "changes.occurred"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2020-09-27", date(2020, 9, 27), date(2020, 9, 27)),
        ("2020-10", date(2020, 10, 1), date(2020, 10, 31)),
        ("2020-02", date(2020, 2, 1), date(2020, 2, 29)),
        ("2020-10-08~", date(2020, 10, 8), date(2020, 10, 8)),
        ("2020-09-27/2020-10-10", date(2020, 9, 27), date(2020, 10, 10)),
        ("1988/1994", date(1988, 1, 1), date(1994, 12, 31)),
    ],
)
def test_the_design_examples_have_the_expected_bounds(text: str, start: date, end: date) -> None:
    occurred = parse_occurred(text)
    assert (occurred.start, occurred.end) == (start, end)


@given(
    st.dates(min_value=date(1000, 1, 1), max_value=date(2999, 12, 31)),
    st.dates(min_value=date(1000, 1, 1), max_value=date(2999, 12, 31)),
    st.sampled_from(["day", "month", "year"]),
    st.sampled_from(["", "~", "?", "%"]),
    st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_the_fast_path_for_dataset_forms_agrees_with_the_edtf_parser(
    a: date, b: date, precision: str, qualifier: str, interval: bool
) -> None:
    from timeline.domain.occurred import _simple_bounds, _to_date

    def form(d: date) -> str:
        text = {"day": d.isoformat(), "month": d.isoformat()[:7], "year": d.isoformat()[:4]}
        return text[precision] + qualifier

    first, last = sorted((a, b))
    text = f"{form(first)}/{form(last)}" if interval else form(first)
    parsed = edtf.parse_edtf(text)
    assert _simple_bounds(text) == (
        _to_date(parsed.lower_strict()),
        _to_date(parsed.upper_strict()),
    )
