"""The write bodies of an assertion: its recording, and the revision, stance and
retraction that come later.

Each turns itself into its domain command (`to_command`); the shared pieces
(places, quantities, citations, the caps on lists) are in `schemas.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from timeline.api.schemas import (
    MAX_ACTORS,
    MAX_CITATIONS,
    MAX_QUANTITIES,
    CitationBody,
    Name,
    PlaceBody,
    QuantityBody,
    ReportedAt,
    Text,
    citations,
)
from timeline.domain import commands
from timeline.domain.kinds import Kind
from timeline.domain.values import StanceKind


class Reported(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What every assertion body carries: the sources it rests on and when it was reported."""

    citations: Annotated[list[CitationBody], Meta(max_length=MAX_CITATIONS)] = msgspec.field(
        default_factory=list
    )
    reported_at: ReportedAt | None = None

    def reported(self, now: datetime) -> dict[str, Any]:
        """The command's citations and reported_at (the server's clock when left out)."""
        return {"citations": citations(self.citations), "reported_at": self.reported_at or now}


class AssertionBody(Reported, kw_only=True, forbid_unknown_fields=True):
    """One dated claim, with who makes it and the sources it rests on."""

    occurred: Annotated[
        str,
        Meta(
            max_length=100,
            description="when it happened: EDTF (ISO 8601-2), e.g. 2020-10-08, 2020-10, "
            "2020-10-08~, 2020-09-27/2020-10-10",
            examples=["2020-10-08"],
        ),
    ]
    kind: Annotated[Kind, Meta(examples=["shelling"])]
    summary: Annotated[
        str, Meta(examples=["Holy Savior Cathedral in Shusha shelled"], max_length=2000)
    ]
    place: PlaceBody | None = None
    actors: Annotated[
        list[Annotated[Name, Meta(examples=["Azerbaijan"])]], Meta(max_length=MAX_ACTORS)
    ] = msgspec.field(default_factory=list)
    quantities: Annotated[list[QuantityBody], Meta(max_length=MAX_QUANTITIES)] = msgspec.field(
        default_factory=list
    )
    claimant: Annotated[Name, Meta(examples=["Armenia"])] | None = None

    def to_command(
        self, assertion_id: str, timeline: str, *, now: datetime
    ) -> commands.RecordAssertion:
        return commands.RecordAssertion(
            assertion_id=assertion_id,
            timeline=timeline,
            occurred=self.occurred,
            kind=self.kind,
            summary=self.summary,
            place=self.place.to_value() if self.place else None,
            actors=tuple(self.actors),
            quantities=tuple(q.to_value() for q in self.quantities),
            claimant=self.claimant,
            **self.reported(now),
        )


class AssertionChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The assertion fields that change; fields left out stay as they are."""

    occurred: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    summary: Annotated[str, Meta(max_length=2000)] | UnsetType = UNSET
    place: PlaceBody | UnsetType | None = UNSET
    actors: Annotated[list[Name], Meta(max_length=MAX_ACTORS)] | UnsetType = UNSET
    quantities: Annotated[list[QuantityBody], Meta(max_length=MAX_QUANTITIES)] | UnsetType = UNSET
    claimant: Name | UnsetType | None = UNSET


class RevisionBody(Reported, kw_only=True, forbid_unknown_fields=True):
    """A partial change to an assertion, with the reason and the sources behind it."""

    changes: AssertionChanges
    reason: Annotated[Text, Meta(examples=["later reports raised the toll"])] = ""

    def to_command(self, assertion_id: str, *, now: datetime) -> commands.ReviseAssertion:
        return commands.ReviseAssertion(
            assertion_id=assertion_id,
            reason=self.reason,
            **self.reported(now),
            **self.changed(),
        )

    def changed(self) -> dict[str, Any]:
        """The changed fields as the domain command takes them."""
        out: dict[str, Any] = {}
        for name in msgspec.structs.asdict(self.changes):
            value = getattr(self.changes, name)
            if value is UNSET:
                continue
            if name == "place" and value is not None:
                value = value.to_value()
            elif name == "quantities":
                value = tuple(q.to_value() for q in value)
            elif name == "actors":
                value = tuple(value)
            out[name] = value
        return out


class StanceBody(Reported, kw_only=True, forbid_unknown_fields=True):
    """A party confirming, denying or disputing an assertion."""

    party: Annotated[Name, Meta(examples=["Armenia"])]
    stance: Annotated[StanceKind, Meta(examples=["denies"])]
    statement: Annotated[
        Text, Meta(examples=["Armenia denied firing on the Tartar and Aghdam regions"])
    ] = ""

    def to_command(self, assertion_id: str, *, now: datetime) -> commands.RecordStance:
        return commands.RecordStance(
            assertion_id=assertion_id,
            party=self.party,
            stance=self.stance,
            statement=self.statement,
            **self.reported(now),
        )


class RetractionBody(Reported, kw_only=True, forbid_unknown_fields=True):
    """Why an assertion is withdrawn from the record."""

    reason: Annotated[Text, Meta(examples=["the claim was misattributed to the ministry"])]

    def to_command(self, assertion_id: str, *, now: datetime) -> commands.RetractAssertion:
        return commands.RetractAssertion(
            assertion_id=assertion_id,
            reason=self.reason,
            **self.reported(now),
        )
