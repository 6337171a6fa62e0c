"""The seed timeline as data: the reviewed JSON file, decoded into commands with stable ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from importlib import resources
from typing import Any

import msgspec

from timeline.domain.commands import OpenTimeline, RecordAssertion, RecordStance, RegisterSource
from timeline.domain.values import Citation, Place, Quantity, StanceKind

SEED_FILE = "nagorno_karabakh_2020.json"

# Ids are uuid5 of stable names under this namespace, so every load makes the same ids.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/timeline/demo")


class SeedCitation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str
    quote: str


class SeedStance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    party: str
    stance: StanceKind
    statement: str
    citations: tuple[SeedCitation, ...]
    reported_at: datetime | None = None


class SeedAssertion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    occurred: str
    kind: str
    summary: str
    place: Place | None
    actors: tuple[str, ...]
    quantities: tuple[Quantity, ...]
    claimant: str
    citations: tuple[SeedCitation, ...]
    stances: tuple[SeedStance, ...] = ()
    reported_at: datetime | None = None


class SeedSource(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: str
    publisher: str
    title: str
    url: str | None
    published_at: datetime | None
    published_at_note: str
    language: str
    via: str | None
    credits: tuple[str, ...]


class SeedTimeline(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    slug: str
    title: str
    description: str
    region: str


class Seed(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    about: str
    namespace: str
    reported_at: datetime
    timeline: SeedTimeline
    sources: tuple[SeedSource, ...]
    assertions: tuple[SeedAssertion, ...]

    def source_id(self, key: str) -> str:
        """The stable id of the source named `key` in this file."""
        return str(uuid.uuid5(NAMESPACE, f"{self.namespace}/source/{key}"))

    def assertion_id(self, key: str) -> str:
        """The stable id of the assertion named `key` in this file."""
        return str(uuid.uuid5(NAMESPACE, f"{self.namespace}/assertion/{key}"))


def read_seed(name: str = SEED_FILE) -> Seed:
    """The seed file shipped in this package, decoded strictly."""
    raw = resources.files("timeline.demo").joinpath(name).read_bytes()
    return msgspec.json.decode(raw, type=Seed)


def _fields(item: msgspec.Struct, *besides: str) -> dict[str, Any]:
    """A seed item's fields that go into its command as they are."""
    fields = msgspec.structs.asdict(item)
    for name in besides:
        del fields[name]
    return fields


def _citations(seed: Seed, citations: tuple[SeedCitation, ...]) -> tuple[Citation, ...]:
    return tuple(Citation(source_id=seed.source_id(c.source), quote=c.quote) for c in citations)


def open_timeline(seed: Seed) -> OpenTimeline:
    return OpenTimeline(**_fields(seed.timeline))


def register_sources(seed: Seed) -> list[RegisterSource]:
    """The sources, each after the source it republishes."""
    return [
        RegisterSource(
            **_fields(s, "key", "via"),
            source_id=seed.source_id(s.key),
            via=seed.source_id(s.via) if s.via else None,
        )
        for s in seed.sources
    ]


def record_assertion(seed: Seed, a: SeedAssertion) -> RecordAssertion:
    return RecordAssertion(
        **_fields(a, "key", "citations", "stances", "reported_at"),
        assertion_id=seed.assertion_id(a.key),
        timeline=seed.timeline.slug,
        citations=_citations(seed, a.citations),
        reported_at=a.reported_at or seed.reported_at,
    )


def record_stances(seed: Seed, a: SeedAssertion) -> list[RecordStance]:
    return [
        RecordStance(
            assertion_id=seed.assertion_id(a.key),
            party=s.party,
            stance=s.stance,
            statement=s.statement,
            citations=_citations(seed, s.citations),
            reported_at=s.reported_at or a.reported_at or seed.reported_at,
        )
        for s in a.stances
    ]
