"""Commands: what a writer asks for, imperative and frozen.

Ids and times come in the command; decisions never read a clock or make an id.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from timeline.domain.values import Citation, DatasetRow, Place, Quantity, StanceKind


class Command(msgspec.Struct, frozen=True, kw_only=True):
    pass


class OpenTimeline(Command, frozen=True, kw_only=True):
    slug: str
    title: str
    description: str = ""
    region: str = ""


class RetitleTimeline(Command, frozen=True, kw_only=True):
    slug: str
    title: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    region: str | UnsetType = UNSET


class RegisterSource(Command, frozen=True, kw_only=True):
    source_id: str
    publisher: str
    title: str
    url: str | None = None
    published_at: datetime | None = None
    published_at_note: str = ""
    language: str = ""
    via: str | None = None
    credits: tuple[str, ...] = ()


class UpdateSource(Command, frozen=True, kw_only=True):
    source_id: str
    publisher: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    url: str | UnsetType | None = UNSET
    published_at: datetime | UnsetType | None = UNSET
    published_at_note: str | UnsetType = UNSET
    language: str | UnsetType = UNSET
    via: str | UnsetType | None = UNSET
    credits: tuple[str, ...] | UnsetType = UNSET
    reason: str = ""


class WithdrawSource(Command, frozen=True, kw_only=True):
    source_id: str
    reason: str = ""
    withdrawn_at: datetime


class RecordAssertion(Command, frozen=True, kw_only=True):
    assertion_id: str
    timeline: str
    occurred: str
    kind: str
    summary: str
    place: Place | None = None
    actors: tuple[str, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    claimant: str | None = None
    citations: tuple[Citation, ...] = ()
    reported_at: datetime
    dataset_row: DatasetRow | None = None


class ReviseAssertion(Command, frozen=True, kw_only=True):
    assertion_id: str
    occurred: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    summary: str | UnsetType = UNSET
    place: Place | UnsetType | None = UNSET
    actors: tuple[str, ...] | UnsetType = UNSET
    quantities: tuple[Quantity, ...] | UnsetType = UNSET
    claimant: str | UnsetType | None = UNSET
    reason: str = ""
    citations: tuple[Citation, ...] = ()
    reported_at: datetime
    dataset_row: DatasetRow | UnsetType | None = UNSET


class RecordStance(Command, frozen=True, kw_only=True):
    assertion_id: str
    party: str
    stance: StanceKind
    statement: str = ""
    citations: tuple[Citation, ...] = ()
    reported_at: datetime


class RetractAssertion(Command, frozen=True, kw_only=True):
    assertion_id: str
    reason: str = ""
    citations: tuple[Citation, ...] = ()
    reported_at: datetime
