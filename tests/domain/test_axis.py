"""The broken axis: every assertion lands inside the axis and inside its own segment, in
order, and a long backstory does not squash the weeks that matter."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from timeline.domain.axis import MIN_SHARE, build_axis, lanes, ticks

days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
ranges = st.lists(
    st.tuples(days, st.integers(min_value=0, max_value=4000)).map(
        lambda t: (t[0], t[0] + timedelta(days=t[1]))
    ),
    min_size=1,
    max_size=40,
)


@given(ranges)
def test_every_range_lies_on_the_axis_in_order(spans: list[tuple[date, date]]) -> None:
    axis = build_axis(spans)
    assert axis is not None
    previous = -1.0
    for segment in axis.segments:
        assert 0.0 <= segment.x0 < segment.x1 <= 1.0 + 1e-9
        assert segment.x0 > previous
        previous = segment.x1
    for start, end in spans:
        x0, x1 = axis.span(start, end)
        assert 0.0 <= x0 <= x1 <= 1.0 + 1e-9
        segment = axis.segment_of(start)
        assert segment.start <= start
        assert end <= segment.end
        assert segment.x0 <= x0
        assert x1 <= segment.x1 + 1e-9
    # later starts are never drawn left of earlier ones
    starts = sorted({s for s, _ in spans})
    xs = [axis.span(s, s)[0] for s in starts]
    assert xs == sorted(xs)


def test_a_backstory_gets_its_own_segment_and_the_weeks_that_matter_most_of_the_axis() -> None:
    weeks = [
        (date(2020, 9, 27) + timedelta(days=i), date(2020, 9, 27) + timedelta(days=i))
        for i in range(14)
    ]
    axis = build_axis([(date(1988, 1, 1), date(1994, 12, 31)), *weeks])
    assert axis is not None
    backstory, recent = axis.segments
    assert backstory.end == date(1994, 12, 31)
    assert recent.x1 - recent.x0 > 0.7
    assert backstory.x1 - backstory.x0 >= MIN_SHARE * 0.9
    # a day of the fortnight is wider than a year of the backstory
    day = recent.x(date(2020, 9, 29)) - recent.x(date(2020, 9, 28))
    year = backstory.x(date(1990, 1, 1)) - backstory.x(date(1989, 1, 1))
    assert day > year


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 0.3)), max_size=60))
def test_spans_in_one_lane_never_overlap(raw: list[tuple[float, float]]) -> None:
    spans = [(x, min(1.0, x + w)) for x, w in raw]
    placed = lanes(spans)
    for lane in set(placed):
        mine = sorted(s for s, n in zip(spans, placed, strict=True) if n == lane)
        for (_, end), (start, _) in itertools.pairwise(mine):
            assert start > end


@given(ranges)
def test_tick_labels_keep_apart(spans: list[tuple[date, date]]) -> None:
    axis = build_axis(spans)
    assert axis is not None
    for segment in axis.segments:
        xs = [segment.x(d) for d, _ in ticks(segment)]
        assert all(b - a >= 0.06 - 1e-9 for a, b in itertools.pairwise(xs))


@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=3000, unique=True),
    st.integers(-1, 10**6 + 1),
)
def test_a_long_list_of_report_dates_is_thinned_keeping_ends_and_the_one_shown(
    offsets: list[int], at: int
) -> None:
    from datetime import UTC, datetime

    from timeline.web.board import MAX_STEPS, _step_of, thin_steps

    origin = datetime(2020, 1, 1, tzinfo=UTC)
    steps = [origin + timedelta(minutes=m) for m in sorted(offsets)]
    known_at = origin + timedelta(minutes=at)
    thinned = thin_steps(steps, known_at)
    assert len(thinned) <= MAX_STEPS + 1
    assert thinned == sorted(set(thinned))
    assert thinned[0] == steps[0]
    assert thinned[-1] == steps[-1]
    shown = _step_of(steps, known_at)
    if shown >= 0:
        assert steps[shown] in thinned
    if len(steps) <= MAX_STEPS:
        assert thinned == steps
