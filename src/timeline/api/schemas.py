"""Request and response bodies of the HTTP API, apart from the domain's events.

Field names are the contract of DESIGN §5. Examples come from the seed article
(AlKhaleej Today republishing the BBC on the October 2020 Nagorno-Karabakh
ceasefire). Responses are the read views of `projections.views`.

Each write body turns itself into its domain command (`to_command`); the route
passes what the body does not carry: the path's id, a new id, the server's clock.
An assertion's bodies are in `assertion_bodies.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from timeline.domain import commands, values
from timeline.domain.values import Precision

Text = Annotated[str, Meta(max_length=10_000)]
Name = Annotated[str, Meta(max_length=300)]
Count = Annotated[int, Meta(ge=0, le=10**12)]
Instant = Annotated[
    datetime,
    Meta(tz=True, description="RFC 3339 with a time zone", examples=["2020-10-08T15:00:00Z"]),
]
# Caps on every list in a write body (docs/api.md, "Limits"): far above any real report's,
# low enough that one body cannot make a write or its stored view huge.
MAX_ACTORS = 100
MAX_QUANTITIES = 50
MAX_CITATIONS = 100
MAX_CREDITS = 50

ReportedAt = Annotated[
    datetime,
    Meta(
        tz=True,
        description="when the world learned it: the report's publication time (RFC 3339); "
        "defaults to now",
        examples=["2020-10-08T15:00:00Z"],
    ),
]


class PlaceBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where it happened, with ACLED's geo-precision."""

    name: Annotated[Name, Meta(examples=["Shusha"])]
    lat: Annotated[float, Meta(ge=-90, le=90, examples=[39.7583])] | None = None
    lon: Annotated[float, Meta(ge=-180, le=180, examples=[46.7486])] | None = None
    precision: Precision = "town"

    def to_value(self) -> values.Place:
        return values.Place(name=self.name, lat=self.lat, lon=self.lon, precision=self.precision)


class QuantityBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A counted measure; "more than 300 killed" is low 300 with no high."""

    measure: Annotated[Name, Meta(examples=["killed"])]
    low: Count | None = None
    high: Count | None = None
    approximate: bool = False
    qualifier: Annotated[Name, Meta(examples=["more than"])] = ""

    def to_value(self) -> values.Quantity:
        return values.Quantity(
            measure=self.measure,
            low=self.low,
            high=self.high,
            approximate=self.approximate,
            qualifier=self.qualifier,
        )


class CitationBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A source the claim rests on, with the words quoted from it."""

    source_id: Annotated[Name, Meta(examples=["4b1e6f0e-2f0c-4c51-9a57-6c7b1de0a001"])]
    quote: Annotated[
        Text,
        Meta(
            examples=["Pictures showed great damage in the Cathedral of the Holy Savior in Shusha"]
        ),
    ] = ""

    def to_value(self) -> values.Citation:
        return values.Citation(source_id=self.source_id, quote=self.quote)


def citations(bodies: list[CitationBody]) -> tuple[values.Citation, ...]:
    return tuple(c.to_value() for c in bodies)


class TimelineBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A timeline to open."""

    slug: Annotated[Name, Meta(examples=["nagorno-karabakh-2020"])]
    title: Annotated[Name, Meta(examples=["Nagorno-Karabakh war, 2020"])]
    description: Annotated[
        Text, Meta(examples=["Fighting over the disputed region from 27 September 2020"])
    ] = ""
    region: Annotated[Name, Meta(examples=["Caucasus"])] = ""

    def to_command(self) -> commands.OpenTimeline:
        return commands.OpenTimeline(
            slug=self.slug, title=self.title, description=self.description, region=self.region
        )


class SourceBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A publication that carries reports."""

    publisher: Annotated[Name, Meta(examples=["AlKhaleej Today"])]
    title: Annotated[
        Name,
        Meta(
            examples=[
                "Nagorno Karabakh: The exchange of accusations between Armenia and Azerbaijan"
            ]
        ),
    ]
    url: Annotated[str, Meta(max_length=2000, examples=["https://example.org/bbc"])] | None = None
    published_at: Instant | None = None
    published_at_note: Annotated[Name, Meta(examples=["5 hours ago"])] = ""
    language: Annotated[str, Meta(max_length=35, examples=["en"])] = ""
    via: Annotated[Name, Meta(description="the id of the source it republishes")] | None = None
    credits: Annotated[
        list[Annotated[Name, Meta(examples=["Reuters"])]], Meta(max_length=MAX_CREDITS)
    ] = msgspec.field(default_factory=list)

    def to_command(self, source_id: str) -> commands.RegisterSource:
        fields = msgspec.structs.asdict(self)
        return commands.RegisterSource(
            source_id=source_id, **{**fields, "credits": tuple(self.credits)}
        )


class SourceUpdateBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields of a source that change; fields left out stay as they are."""

    publisher: Name | UnsetType = UNSET
    title: Name | UnsetType = UNSET
    url: Annotated[str, Meta(max_length=2000)] | UnsetType | None = UNSET
    published_at: Instant | UnsetType | None = UNSET
    published_at_note: Name | UnsetType = UNSET
    language: Annotated[str, Meta(max_length=35)] | UnsetType = UNSET
    via: Name | UnsetType | None = UNSET
    credits: Annotated[list[Name], Meta(max_length=MAX_CREDITS)] | UnsetType = UNSET
    reason: Annotated[Text, Meta(examples=["the publisher corrected the headline"])] = ""

    def to_command(self, source_id: str) -> commands.UpdateSource:
        fields = msgspec.structs.asdict(self)
        if isinstance(self.credits, list):
            fields["credits"] = tuple(self.credits)
        return commands.UpdateSource(source_id=source_id, **fields)


class WithdrawalBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A source's withdrawal: the assertions resting on it alone become unsupported."""

    reason: Annotated[Text, Meta(examples=["the publisher took the article down"])] = ""
    withdrawn_at: Instant | None = None

    def to_command(self, source_id: str, *, now: datetime) -> commands.WithdrawSource:
        return commands.WithdrawSource(
            source_id=source_id, reason=self.reason, withdrawn_at=self.withdrawn_at or now
        )


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An error, as RFC 9457 problem details with the fields at fault."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = msgspec.field(default_factory=list)
    request_id: str | None = None


class Health(msgspec.Struct, kw_only=True):
    status: Literal["ok"]
