"""Which events a reader wants: the same filters on the paged feed, the stream and the hub."""

from __future__ import annotations

import msgspec

from timeline.store.codec import RecordedEvent


class FeedFilter(msgspec.Struct, frozen=True, kw_only=True):
    types: tuple[str, ...] = ()
    stream_type: str | None = None
    stream_id: str | None = None
    timeline: str | None = None

    def matches(self, recorded: RecordedEvent) -> bool:
        """The same test read_feed's WHERE clause makes, in memory."""
        return (
            (not self.types or recorded.type in self.types)
            and (self.stream_type is None or recorded.stream_type == self.stream_type)
            and (self.stream_id is None or recorded.stream_id == self.stream_id)
            and (self.timeline is None or recorded.timeline == self.timeline)
        )
