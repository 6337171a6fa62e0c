"""Write bodies turn themselves into commands: the path's id, a new id and the clock come in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import msgspec
from msgspec import UNSET

from timeline.api.assertion_bodies import AssertionBody, RevisionBody
from timeline.api.schemas import SourceBody, SourceUpdateBody, WithdrawalBody
from timeline.domain import commands, values

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
REPORTED = datetime(2020, 10, 8, 15, 0, tzinfo=UTC)
T = TypeVar("T")


def decode(body: str, into: type[T]) -> T:
    return msgspec.json.decode(body, type=into)


def test_a_revision_carries_only_the_fields_it_changes() -> None:
    body = decode('{"changes": {"summary": "s", "actors": ["A"]}, "reason": "r"}', RevisionBody)
    assert body.to_command("a1", now=NOW) == commands.ReviseAssertion(
        assertion_id="a1", summary="s", actors=("A",), reason="r", reported_at=NOW
    )


def test_an_assertion_keeps_its_own_reported_at_and_becomes_domain_values() -> None:
    body = decode(
        '{"occurred": "2020-10-08", "kind": "shelling", "summary": "s",'
        ' "place": {"name": "Shusha"}, "quantities": [{"measure": "killed", "low": 3}],'
        ' "citations": [{"source_id": "s1"}], "reported_at": "2020-10-08T15:00:00Z"}',
        AssertionBody,
    )
    cmd = body.to_command("a1", "nk", now=NOW)
    assert cmd.reported_at == REPORTED
    assert cmd.place == values.Place(name="Shusha", lat=None, lon=None, precision="town")
    assert cmd.quantities == (values.Quantity(measure="killed", low=3, high=None),)
    assert cmd.citations == (values.Citation(source_id="s1", quote=""),)
    assert (cmd.assertion_id, cmd.timeline) == ("a1", "nk")


def test_a_source_update_leaves_unsent_fields_unset() -> None:
    cmd = decode('{"title": "t", "credits": ["Reuters"]}', SourceUpdateBody).to_command("s1")
    assert cmd.title == "t"
    assert cmd.credits == ("Reuters",)
    assert cmd.publisher is UNSET
    assert cmd.url is UNSET


def test_a_source_and_its_withdrawal() -> None:
    registered = decode('{"publisher": "BBC", "title": "t"}', SourceBody).to_command("s1")
    assert registered == commands.RegisterSource(source_id="s1", publisher="BBC", title="t")
    withdrawn = decode("{}", WithdrawalBody).to_command("s1", now=NOW)
    assert withdrawn == commands.WithdrawSource(source_id="s1", withdrawn_at=NOW)
