"""The timeline aggregate: a conflict or theme, addressed by its slug."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import assert_never

import msgspec

from timeline.domain import states
from timeline.domain.commands import OpenTimeline, RetitleTimeline
from timeline.domain.errors import InvalidValue, TimelineAlreadyExists, TimelineNotFound
from timeline.domain.events import TimelineEvent, TimelineOpened, TimelineRetitled
from timeline.domain.states import updated

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


class Timeline(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    title: str
    description: str
    region: str
    version: int = 0


def evolve(state: Timeline | None, event: TimelineEvent) -> Timeline:
    """The timeline after `event`."""
    match event:
        case TimelineOpened():
            return Timeline(**msgspec.structs.asdict(event), version=1)
        case TimelineRetitled():
            assert state is not None, "TimelineRetitled before TimelineOpened"
            return updated(state, event, ("title", "description", "region"))
        case _:
            assert_never(event)


def fold(events: Iterable[TimelineEvent]) -> Timeline | None:
    return states.fold(evolve, events)


def _check_title(title: str) -> None:
    if not title.strip():
        raise InvalidValue("title", "must not be empty")
    if len(title) > 300:
        raise InvalidValue("title", "must be at most 300 characters")


def open_timeline(state: Timeline | None, cmd: OpenTimeline) -> list[TimelineEvent]:
    """Open a new timeline under a free, well-formed slug."""
    if not SLUG.match(cmd.slug):
        raise InvalidValue(
            "slug", "must be 1-80 lowercase letters, digits or hyphens, not starting with '-'"
        )
    if state is not None:
        raise TimelineAlreadyExists(cmd.slug)
    _check_title(cmd.title)
    return [
        TimelineOpened(
            slug=cmd.slug, title=cmd.title, description=cmd.description, region=cmd.region
        )
    ]


def retitle_timeline(state: Timeline | None, cmd: RetitleTimeline) -> list[TimelineEvent]:
    """Change a timeline's title, description or region."""
    if state is None:
        raise TimelineNotFound(cmd.slug)
    if isinstance(cmd.title, str):
        _check_title(cmd.title)
    return [
        TimelineRetitled(
            slug=cmd.slug, title=cmd.title, description=cmd.description, region=cmd.region
        )
    ]
