"""Status: contested from a denial's report, retracted, unsupported when every source is gone."""

from __future__ import annotations

from datetime import datetime

from tests.domain.examples import at, fold, recorded
from timeline.domain import sources
from timeline.domain.assertions import react_to_withdrawal
from timeline.domain.events import (
    AssertionRetracted,
    AssertionRevised,
    CitedSourceWithdrawn,
    SourceRegistered,
    SourceWithdrawn,
    StanceRecorded,
)
from timeline.domain.values import Citation, StanceKind

TWO_SOURCES = (Citation(source_id="bbc"), Citation(source_id="reuters"))


def stance(party: str, kind: StanceKind, day: int) -> StanceRecorded:
    return StanceRecorded(assertion_id="a-1", party=party, stance=kind, reported_at=at(day))


def withdrawn(source_id: str, day: int) -> CitedSourceWithdrawn:
    return CitedSourceWithdrawn(assertion_id="a-1", source_id=source_id, reported_at=at(day))


def test_a_new_assertion_is_active() -> None:
    assert fold(recorded()).status == "active"


def test_a_denial_contests_the_assertion_from_its_reported_at_only() -> None:
    events = (recorded(reported_at=at(5)), stance("Armenia", "denies", 8))
    assert fold(*events).status == "contested"
    assert fold(*events, known_at=at(8)).status == "contested"
    assert fold(*events, known_at=at(7)).status == "active"


def test_a_dispute_contests_and_a_confirmation_does_not() -> None:
    assert fold(recorded(), stance("OSCE", "disputes", 6)).status == "contested"
    assert fold(recorded(), stance("Russia", "confirms", 6)).status == "active"


def test_a_party_that_withdraws_its_denial_no_longer_contests() -> None:
    events = (recorded(), stance("Armenia", "denies", 6), stance("Armenia", "confirms", 9))
    assert fold(*events).status == "active"
    assert fold(*events, known_at=at(7)).status == "contested"


def test_a_retraction_retracts_from_its_reported_at() -> None:
    events = (recorded(), AssertionRetracted(assertion_id="a-1", reason="x", reported_at=at(9)))
    assert fold(*events).status == "retracted"
    assert fold(*events).retraction_reason == "x"
    assert fold(*events, known_at=at(8)).status == "active"


def test_a_retraction_outranks_a_denial() -> None:
    events = (
        recorded(),
        stance("Armenia", "denies", 6),
        AssertionRetracted(assertion_id="a-1", reason="x", reported_at=at(9)),
    )
    assert fold(*events).status == "retracted"


def test_an_assertion_whose_only_source_is_withdrawn_is_unsupported() -> None:
    assert fold(recorded(), withdrawn("bbc", 20)).status == "unsupported"
    assert fold(recorded(), withdrawn("bbc", 20), known_at=at(19)).status == "active"


def test_an_assertion_with_one_live_source_left_stays_supported() -> None:
    state = fold(recorded(citations=TWO_SOURCES), withdrawn("bbc", 20))
    assert state.status == "active"
    assert (
        fold(recorded(citations=TWO_SOURCES), withdrawn("bbc", 20), withdrawn("reuters", 21)).status
        == "unsupported"
    )


def test_a_source_cited_by_a_revision_counts_as_support() -> None:
    revision = AssertionRevised(
        assertion_id="a-1",
        summary="more",
        citations=(Citation(source_id="reuters"),),
        reported_at=at(6),
    )
    assert fold(recorded(), revision, withdrawn("bbc", 20)).status == "active"


def test_the_withdrawal_policy_tells_only_assertions_citing_the_source() -> None:
    state = fold(recorded(citations=TWO_SOURCES))
    assert react_to_withdrawal(state, "nyt", "gone", at(20)) == []
    assert react_to_withdrawal(state, "bbc", "gone", at(20)) == [
        CitedSourceWithdrawn(assertion_id="a-1", source_id="bbc", reason="gone", reported_at=at(20))
    ]
    assert react_to_withdrawal(fold(recorded(), withdrawn("bbc", 20)), "bbc", "", at(21)) == []


def test_a_withdrawal_before_the_first_report_is_known_from_the_first_report() -> None:
    state = fold(recorded(reported_at=at(5)))
    [event] = react_to_withdrawal(state, "bbc", "gone", datetime(2020, 1, 1, tzinfo=at(5).tzinfo))
    assert event.reported_at == at(5)


def test_a_sources_withdrawal_is_folded_into_its_state_with_its_time_and_reason() -> None:
    registered = SourceRegistered(source_id="bbc", publisher="BBC", title="Report")
    live = sources.fold([registered])
    assert live is not None
    assert (live.withdrawn, live.withdrawn_at, live.withdrawal_reason) == (False, None, "")
    gone = SourceWithdrawn(source_id="bbc", reason="fabricated", withdrawn_at=at(20))
    state = sources.fold([registered, gone])
    assert state is not None
    assert (state.withdrawn, state.withdrawn_at, state.withdrawal_reason) == (
        True,
        at(20),
        "fabricated",
    )
