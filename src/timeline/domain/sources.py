"""The source aggregate: a publication that carries reports."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import assert_never

import msgspec
from msgspec import UNSET

from timeline.domain import states
from timeline.domain.commands import RegisterSource, UpdateSource, WithdrawSource
from timeline.domain.errors import (
    InvalidValue,
    SourceAlreadyExists,
    SourceIsWithdrawn,
    SourceNotFound,
)
from timeline.domain.events import (
    SourceEvent,
    SourceRegistered,
    SourceUpdated,
    SourceWithdrawn,
)
from timeline.domain.states import next_version, updated

UPDATABLE = (
    "publisher",
    "title",
    "url",
    "published_at",
    "published_at_note",
    "language",
    "via",
    "credits",
)


class Source(msgspec.Struct, frozen=True, kw_only=True):
    source_id: str
    publisher: str
    title: str
    url: str | None
    published_at: datetime | None
    published_at_note: str
    language: str
    via: str | None
    credits: tuple[str, ...]
    withdrawn: bool = False
    withdrawn_at: datetime | None = None
    withdrawal_reason: str = ""
    version: int = 0


def evolve(state: Source | None, event: SourceEvent) -> Source:
    """The source after `event`."""
    match event:
        case SourceRegistered():
            return Source(**msgspec.structs.asdict(event), version=1)
        case SourceUpdated():
            assert state is not None, "SourceUpdated before SourceRegistered"
            return updated(state, event, UPDATABLE)
        case SourceWithdrawn():
            assert state is not None, "SourceWithdrawn before SourceRegistered"
            return next_version(
                state,
                withdrawn=True,
                withdrawn_at=event.withdrawn_at,
                withdrawal_reason=event.reason,
            )
        case _:
            assert_never(event)


def fold(events: Iterable[SourceEvent]) -> Source | None:
    return states.fold(evolve, events)


def _check_fields(publisher: object, title: object, url: object, language: object) -> None:
    if isinstance(publisher, str) and not publisher.strip():
        raise InvalidValue("publisher", "must not be empty")
    if isinstance(title, str) and not title.strip():
        raise InvalidValue("title", "must not be empty")
    if isinstance(url, str) and not url.startswith(("http://", "https://")):
        raise InvalidValue("url", "must be an http or https URL")
    if isinstance(language, str) and len(language) > 35:
        raise InvalidValue("language", "must be a BCP 47 language tag such as 'en'")


def register_source(
    state: Source | None, cmd: RegisterSource, via: Source | None
) -> list[SourceEvent]:
    """Register a source; `via` is the source it republishes, loaded by the caller."""
    if state is not None:
        raise SourceAlreadyExists(cmd.source_id)
    _check_fields(cmd.publisher, cmd.title, cmd.url, cmd.language)
    if cmd.via is not None and via is None:
        raise SourceNotFound(cmd.via, field="via")
    return [SourceRegistered(**msgspec.structs.asdict(cmd))]


def _check_live(state: Source | None, source_id: str) -> None:
    """The source a change names: it exists and is not withdrawn (a withdrawn one is final)."""
    if state is None:
        raise SourceNotFound(source_id)
    if state.withdrawn:
        raise SourceIsWithdrawn(source_id)


def update_source(state: Source | None, cmd: UpdateSource, via: Source | None) -> list[SourceEvent]:
    """Change some of a source's fields; a withdrawn source does not change."""
    _check_live(state, cmd.source_id)
    _check_fields(cmd.publisher, cmd.title, cmd.url, cmd.language)
    if isinstance(cmd.via, str):
        if via is None:
            raise SourceNotFound(cmd.via, field="via")
        if cmd.via == cmd.source_id:
            raise InvalidValue("via", "a source cannot republish itself")
    if all(getattr(cmd, name) is UNSET for name in UPDATABLE):
        raise InvalidValue("changes", "name at least one field to change")
    return [SourceUpdated(**msgspec.structs.asdict(cmd))]


def withdraw_source(state: Source | None, cmd: WithdrawSource) -> list[SourceEvent]:
    """Withdraw a source; the assertions resting on it are told by a policy."""
    _check_live(state, cmd.source_id)
    return [
        SourceWithdrawn(source_id=cmd.source_id, reason=cmd.reason, withdrawn_at=cmd.withdrawn_at)
    ]
