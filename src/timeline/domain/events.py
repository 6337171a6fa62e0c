"""The event catalogue: frozen, tagged, versioned structs.

Tags are explicit strings, fixed once released. A new field gets a default;
a changed shape bumps `schema_version` and registers an upcaster in
`domain/upcast.py`. Stored events are never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import msgspec
from msgspec import UNSET, UnsetType

from timeline.domain.values import Citation, DatasetRow, Place, Quantity, StanceKind


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event; `schema_version` is the shape's version."""

    schema_version: ClassVar[int] = 1
    stream_type: ClassVar[str] = ""


def set_fields(event: Event, names: Iterable[str]) -> dict[str, Any]:
    """The fields of a partial change (`...Updated`, `...Retitled`) that it sets, by name."""
    return {name: value for name in names if (value := getattr(event, name)) is not UNSET}


# -- timelines: stream_type "timeline", stream_id = slug ---------------------


class TimelineOpened(Event, tag="TimelineOpened", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "timeline"
    slug: str
    title: str
    description: str = ""
    region: str = ""


class TimelineRetitled(Event, tag="TimelineRetitled", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "timeline"
    slug: str
    title: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    region: str | UnsetType = UNSET


# -- sources: stream_type "source", stream_id = source id -------------------


class SourceRegistered(Event, tag="SourceRegistered", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "source"
    source_id: str
    publisher: str
    title: str
    url: str | None = None
    published_at: datetime | None = None
    published_at_note: str = ""
    language: str = ""
    via: str | None = None
    credits: tuple[str, ...] = ()


class SourceUpdated(Event, tag="SourceUpdated", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "source"
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


class SourceWithdrawn(Event, tag="SourceWithdrawn", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "source"
    source_id: str
    reason: str = ""
    withdrawn_at: datetime


# -- assertions: stream_type "assertion", stream_id = assertion id ----------


class AssertionRecorded(Event, tag="AssertionRecorded", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "assertion"
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


class AssertionRevised(Event, tag="AssertionRevised", frozen=True, kw_only=True):
    """A partial change: only the fields that are set change."""

    stream_type: ClassVar[str] = "assertion"
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


class StanceRecorded(Event, tag="StanceRecorded", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "assertion"
    assertion_id: str
    party: str
    stance: StanceKind
    statement: str = ""
    citations: tuple[Citation, ...] = ()
    reported_at: datetime


class AssertionRetracted(Event, tag="AssertionRetracted", frozen=True, kw_only=True):
    stream_type: ClassVar[str] = "assertion"
    assertion_id: str
    reason: str = ""
    citations: tuple[Citation, ...] = ()
    reported_at: datetime


class CitedSourceWithdrawn(Event, tag="CitedSourceWithdrawn", frozen=True, kw_only=True):
    """A source this assertion cites was withdrawn (a cross-stream reaction).

    Appended to each citing assertion's stream in the transaction that
    withdraws the source, so time travel over the assertion stays exact.
    """

    stream_type: ClassVar[str] = "assertion"
    assertion_id: str
    source_id: str
    reason: str = ""
    reported_at: datetime


TimelineEvent = TimelineOpened | TimelineRetitled
SourceEvent = SourceRegistered | SourceUpdated | SourceWithdrawn
AssertionEvent = (
    AssertionRecorded
    | AssertionRevised
    | StanceRecorded
    | AssertionRetracted
    | CitedSourceWithdrawn
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        TimelineOpened,
        TimelineRetitled,
        SourceRegistered,
        SourceUpdated,
        SourceWithdrawn,
        AssertionRecorded,
        AssertionRevised,
        StanceRecorded,
        AssertionRetracted,
        CitedSourceWithdrawn,
    )
}


def reported_at_of(event: Event) -> datetime | None:
    """The knowledge time an event carries, if it carries one."""
    value = getattr(event, "reported_at", None)
    if isinstance(value, datetime):
        return value
    if isinstance(event, SourceWithdrawn):
        return event.withdrawn_at
    if isinstance(event, SourceRegistered):
        return event.published_at
    return None
