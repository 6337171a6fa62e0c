"""Assertion decisions, given / when / then: every refusal names the field at fault."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from msgspec import UNSET

from tests.domain.examples import SLUG, at, fold, record_cmd, recorded, source, timeline
from timeline.domain.assertions import (
    record_assertion,
    record_stance,
    retract_assertion,
    revise_assertion,
)
from timeline.domain.commands import RecordStance, RetractAssertion, ReviseAssertion
from timeline.domain.errors import (
    AssertionIsRetracted,
    AssertionNotFound,
    DomainError,
    InvalidValue,
    ReportedBeforeFirstReport,
    SourceIsWithdrawn,
    SourceNotFound,
    TimelineNotFound,
)
from timeline.domain.events import (
    AssertionRecorded,
    AssertionRetracted,
    AssertionRevised,
    StanceRecorded,
)
from timeline.domain.values import Citation, Place, Quantity

LIVE = {"bbc": source("bbc")}


def test_a_valid_assertion_is_recorded_as_one_event_with_every_field() -> None:
    cmd = record_cmd(place=Place(name="Shusha", lat=39.76, lon=46.75, precision="town"))
    assert record_assertion(None, cmd, timeline(), LIVE) == [
        AssertionRecorded(
            assertion_id=cmd.assertion_id,
            timeline=SLUG,
            occurred="2020-09-27",
            kind="armed_clash",
            summary=cmd.summary,
            place=cmd.place,
            actors=cmd.actors,
            citations=cmd.citations,
            reported_at=cmd.reported_at,
        )
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred": "27 September 2020"}, "occurred"),
        ({"occurred": "2020-10-10/2020-10-01"}, "occurred"),
        ({"kind": "skirmish"}, "kind"),
        ({"summary": "  "}, "summary"),
        ({"summary": "x" * 2001}, "summary"),
        ({"place": Place(name="Shusha", lat=39.76)}, "place.lat"),
        ({"place": Place(name="Shusha", lon=46.75)}, "place.lat"),
        ({"place": Place(name="Shusha", lat=91.0, lon=0.0)}, "place.lat"),
        ({"place": Place(name="Shusha", lat=0.0, lon=181.0)}, "place.lon"),
        ({"place": Place(name=" ")}, "place.name"),
        ({"place": Place(name="Shusha", precision="street")}, "place.precision"),  # type: ignore[arg-type]
        ({"actors": ("Armenia", "")}, "actors[1]"),
        ({"quantities": (Quantity(measure="killed", low=300, high=200),)}, "quantities[0].low"),
        ({"quantities": (Quantity(measure="killed", low=-1),)}, "quantities[0].low"),
        (
            {"quantities": (Quantity(measure="killed", low=1), Quantity(measure="x", high=-5))},
            "quantities[1].high",
        ),
        ({"quantities": (Quantity(measure="", low=1),)}, "quantities[0].measure"),
        ({"quantities": (Quantity(measure="killed"),)}, "quantities[0]"),
        (
            {"citations": (Citation(source_id="bbc"), Citation(source_id="nyt"))},
            "citations[1].source_id",
        ),
        ({"reported_at": at(5).replace(tzinfo=None)}, "reported_at"),
    ],
)
def test_a_recording_with_a_bad_value_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as error:
        record_assertion(None, record_cmd(**changes), timeline(), LIVE)
    assert error.value.field == field


def test_a_citation_of_a_withdrawn_source_is_refused_naming_its_source_id() -> None:
    cmd = record_cmd(citations=(Citation(source_id="bbc"), Citation(source_id="rferl")))
    with pytest.raises(SourceIsWithdrawn) as error:
        record_assertion(None, cmd, timeline(), {**LIVE, "rferl": source("rferl", withdrawn=True)})
    assert error.value.field == "citations[1].source_id"


def test_a_citation_of_an_unknown_source_is_refused_naming_its_source_id() -> None:
    with pytest.raises(SourceNotFound) as error:
        record_assertion(None, record_cmd(), timeline(), {"bbc": None})
    assert error.value.field == "citations[0].source_id"


def test_an_assertion_on_a_missing_timeline_is_refused_naming_timeline() -> None:
    with pytest.raises(TimelineNotFound) as error:
        record_assertion(None, record_cmd(), None, LIVE)
    assert error.value.field == "timeline"


def test_an_assertion_cannot_be_recorded_twice() -> None:
    with pytest.raises(InvalidValue) as error:
        record_assertion(fold(recorded()), record_cmd(), timeline(), LIVE)
    assert error.value.field == "assertion_id"


def test_an_open_quantity_more_than_300_is_accepted() -> None:
    more_than = Quantity(measure="killed", low=300, qualifier="more than 300")
    [event] = record_assertion(None, record_cmd(quantities=(more_than,)), timeline(), LIVE)
    assert isinstance(event, AssertionRecorded)
    assert event.quantities == (more_than,)


# -- revisions ----------------------------------------------------------------


def revise_cmd(**changes: Any) -> ReviseAssertion:
    fields: dict[str, Any] = {"assertion_id": "a-1", "reason": "new figures", "reported_at": at(12)}
    fields.update(changes)
    return ReviseAssertion(**fields)


def test_a_revision_carries_only_the_fields_that_change() -> None:
    cmd = revise_cmd(summary="More soldiers killed")
    [event] = revise_assertion(fold(recorded()), cmd, LIVE)
    assert isinstance(event, AssertionRevised)
    assert event.summary == "More soldiers killed"
    assert event.occurred is UNSET
    assert event.kind is UNSET


def test_a_retracted_assertion_cannot_be_revised() -> None:
    state = fold(recorded(), AssertionRetracted(assertion_id="a-1", reason="x", reported_at=at(6)))
    with pytest.raises(AssertionIsRetracted) as error:
        revise_assertion(state, revise_cmd(occurred="2020-10"), LIVE)
    assert error.value.field == "assertion_id"


def test_a_retracted_assertion_cannot_be_retracted_again() -> None:
    state = fold(recorded(), AssertionRetracted(assertion_id="a-1", reason="x", reported_at=at(6)))
    with pytest.raises(AssertionIsRetracted):
        retract_assertion(
            state, RetractAssertion(assertion_id="a-1", reason="y", reported_at=at(7)), LIVE
        )


def test_a_revision_that_changes_nothing_is_refused_naming_changes() -> None:
    with pytest.raises(InvalidValue) as error:
        revise_assertion(fold(recorded()), revise_cmd(), LIVE)
    assert error.value.field == "changes"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred": "soon"}, "changes.occurred"),
        ({"kind": "skirmish"}, "changes.kind"),
        ({"summary": ""}, "changes.summary"),
        ({"actors": ("",)}, "changes.actors[0]"),
        ({"quantities": (Quantity(measure="killed", low=3, high=2),)}, "changes.quantities[0].low"),
        ({"place": Place(name="Stepanakert", lat=39.8)}, "changes.place.lat"),
        ({"summary": "x", "citations": (Citation(source_id="nyt"),)}, "citations[0].source_id"),
        ({"summary": "x", "reported_at": at(4)}, "reported_at"),
    ],
)
def test_a_revision_with_a_bad_value_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as error:
        revise_assertion(fold(recorded()), revise_cmd(**changes), LIVE)
    assert error.value.field == field


def test_an_event_reported_before_the_first_report_is_refused_naming_reported_at() -> None:
    state = fold(recorded(reported_at=at(5)))
    commands: list[Callable[[], object]] = [
        lambda: revise_assertion(state, revise_cmd(summary="x", reported_at=at(4)), LIVE),
        lambda: record_stance(
            state,
            RecordStance(assertion_id="a-1", party="Armenia", stance="denies", reported_at=at(4)),
            LIVE,
        ),
        lambda: retract_assertion(
            state, RetractAssertion(assertion_id="a-1", reason="x", reported_at=at(4)), LIVE
        ),
    ]
    for decide in commands:
        with pytest.raises(ReportedBeforeFirstReport) as error:
            decide()
        assert error.value.field == "reported_at"


def test_an_event_reported_with_the_first_report_is_accepted() -> None:
    state = fold(recorded(reported_at=at(5)))
    assert revise_assertion(state, revise_cmd(summary="x", reported_at=at(5)), LIVE)


def test_commands_on_a_missing_assertion_name_assertion_id() -> None:
    stance = RecordStance(assertion_id="a-1", party="Armenia", stance="denies", reported_at=at(6))
    retract = RetractAssertion(assertion_id="a-1", reason="x", reported_at=at(6))
    commands: list[Callable[[], object]] = [
        lambda: revise_assertion(None, revise_cmd(summary="x"), LIVE),
        lambda: record_stance(None, stance, LIVE),
        lambda: retract_assertion(None, retract, LIVE),
    ]
    for decide in commands:
        with pytest.raises(AssertionNotFound) as error:
            decide()
        assert error.value.field == "assertion_id"


# -- stances and retractions --------------------------------------------------


def test_a_denial_is_recorded_as_a_stance() -> None:
    cmd = RecordStance(
        assertion_id="a-1",
        party="Armenia",
        stance="denies",
        statement="It is a lie",
        reported_at=at(6),
    )
    assert record_stance(fold(recorded()), cmd, LIVE) == [
        StanceRecorded(
            assertion_id="a-1",
            party="Armenia",
            stance="denies",
            statement="It is a lie",
            reported_at=at(6),
        )
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"party": " "}, "party"), ({"stance": "ignores"}, "stance")],
)
def test_a_bad_stance_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {
        "assertion_id": "a-1",
        "party": "Armenia",
        "stance": "denies",
        "reported_at": at(6),
    }
    with pytest.raises(InvalidValue) as error:
        record_stance(fold(recorded()), RecordStance(**{**fields, **changes}), LIVE)
    assert error.value.field == field


def test_a_retraction_without_a_reason_is_refused_naming_reason() -> None:
    cmd = RetractAssertion(assertion_id="a-1", reason=" ", reported_at=at(6))
    with pytest.raises(InvalidValue) as error:
        retract_assertion(fold(recorded()), cmd, LIVE)
    assert error.value.field == "reason"
