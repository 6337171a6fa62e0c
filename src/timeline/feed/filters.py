"""Which events a reader wants: the same filters on the paged feed, the stream and the hub."""

from __future__ import annotations

from typing import Protocol

import msgspec

from timeline.domain.events import EVENT_TYPES

# What a filter may name: a feed that can only ever be empty is a typo, said as a 400.
STREAM_TYPES = tuple(sorted({cls.stream_type for cls in EVENT_TYPES.values()}))


class UnknownFilter(ValueError):
    """A filter naming an event type or stream type this store does not have."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Filterable(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def stream_type(self) -> str: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def timeline(self) -> str | None: ...


class FeedFilter(msgspec.Struct, frozen=True, kw_only=True):
    types: tuple[str, ...] = ()
    stream_type: str | None = None
    stream_id: str | None = None
    timeline: str | None = None

    def matches(self, event: Filterable) -> bool:
        """The same test read_feed's WHERE clause makes, in memory."""
        return (
            (not self.types or event.type in self.types)
            and (self.stream_type is None or event.stream_type == self.stream_type)
            and (self.stream_id is None or event.stream_id == self.stream_id)
            and (self.timeline is None or event.timeline == self.timeline)
        )

    @classmethod
    def checked(
        cls,
        types: tuple[str, ...] = (),
        stream_type: str | None = None,
        stream_id: str | None = None,
        timeline: str | None = None,
    ) -> FeedFilter:
        """The filter, or UnknownFilter naming the first type or stream type no event has."""
        for name in types:
            if name not in EVENT_TYPES:
                raise UnknownFilter(
                    "type", f"no event type {name[:80]!r}; one of {', '.join(EVENT_TYPES)}"
                )
        if stream_type is not None and stream_type not in STREAM_TYPES:
            raise UnknownFilter(
                "stream_type",
                f"no stream type {stream_type[:80]!r}; one of {', '.join(STREAM_TYPES)}",
            )
        return cls(types=types, stream_type=stream_type, stream_id=stream_id, timeline=timeline)
