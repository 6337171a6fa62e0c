"""Which events a reader wants: the same filters on the paged feed, the stream and the hub."""

from __future__ import annotations

from typing import Protocol

import msgspec


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
