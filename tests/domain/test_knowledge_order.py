"""Knowledge order (DESIGN §1): what was known at T is the fold of events reported by T."""

from __future__ import annotations

from tests.domain.examples import at, recorded
from timeline.domain.assertions import Assertion, fold
from timeline.domain.events import AssertionEvent, AssertionRevised
from timeline.domain.values import Quantity


def killed(low: int) -> tuple[Quantity, ...]:
    return (Quantity(measure="killed", low=low, qualifier=f"more than {low}"),)


# Stream versions 1, 2, 3: version 3 was typed in a week later but reported on 9 Oct.
HISTORY: list[tuple[int, AssertionEvent]] = [
    (1, recorded(quantities=killed(200), reported_at=at(5))),
    (2, AssertionRevised(assertion_id="a-1", quantities=killed(300), reported_at=at(12))),
    (3, AssertionRevised(assertion_id="a-1", quantities=killed(250), reported_at=at(9))),
]


def low_known(history: list[tuple[int, AssertionEvent]], day: int | None) -> int | None:
    state: Assertion | None = fold(history, None if day is None else at(day))
    if state is None:
        return None
    return state.quantities[0].low


def test_now_the_latest_report_stands_not_the_latest_recording() -> None:
    assert low_known(HISTORY, None) == 300


def test_on_10_october_the_backfilled_9_october_report_was_known() -> None:
    assert low_known(HISTORY, 10) == 250


def test_on_6_october_only_the_first_report_was_known() -> None:
    assert low_known(HISTORY, 6) == 200


def test_on_4_october_the_assertion_is_absent() -> None:
    assert low_known(HISTORY, 4) is None


def test_before_version_3_was_recorded_10_october_knew_200() -> None:
    assert low_known(HISTORY[:2], 10) == 200


def test_the_order_events_arrive_in_does_not_matter() -> None:
    assert fold(list(reversed(HISTORY))) == fold(HISTORY)
    assert fold(list(reversed(HISTORY)), at(10)) == fold(HISTORY, at(10))


def test_an_event_reported_exactly_at_t_is_known_at_t() -> None:
    assert low_known(HISTORY, None) == 300
    state = fold(HISTORY, at(12))
    assert state is not None
    assert state.quantities[0].low == 300


def test_equal_reported_at_is_broken_by_stream_version() -> None:
    history: list[tuple[int, AssertionEvent]] = [
        (1, recorded(reported_at=at(5))),
        (3, AssertionRevised(assertion_id="a-1", summary="third", reported_at=at(7))),
        (2, AssertionRevised(assertion_id="a-1", summary="second", reported_at=at(7))),
    ]
    state = fold(history)
    assert state is not None
    assert state.summary == "third"


def test_the_state_keeps_the_highest_version_and_the_report_span() -> None:
    state = fold(HISTORY)
    assert state is not None
    assert (state.version, state.first_reported_at, state.last_reported_at) == (3, at(5), at(12))
    known = fold(HISTORY, at(10))
    assert known is not None
    assert (known.version, known.last_reported_at) == (3, at(9))
