"""A live subscriber of the hub: a bounded buffer of entries and the flag that wakes it.

A subscriber whose buffer fills (a stalled client) is dropped: its buffer is
freed, and its stream catches up from the store by its own cursor.
"""

from __future__ import annotations

import asyncio
from collections import deque

from timeline.feed.filters import FeedFilter
from timeline.feed.shape import LiveEvent


class Subscription:
    """A subscriber's bounded buffer of entries, and the flag that wakes it."""

    def __init__(self, feed_filter: FeedFilter, capacity: int) -> None:
        self.filter = feed_filter
        self.capacity = capacity
        self.entries: deque[LiveEvent] = deque()
        self.wake = asyncio.Event()
        self.dropped = False
        self.closed = False

    def offer(self, entries: list[LiveEvent]) -> bool:
        """Buffer the wanted entries; False (and dropped) when they do not fit."""
        wanted = [e for e in entries if self.filter.matches(e)]
        if not wanted:
            return True
        if len(self.entries) + len(wanted) > self.capacity:
            self.dropped = True
            self.entries.clear()
            self.wake.set()
            return False
        self.entries.extend(wanted)
        self.wake.set()
        return True
